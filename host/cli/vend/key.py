"""``prepay vend key``: vending keys, stored encrypted; listed by identity only."""

from host.parse import int_arg
from host.cli.vend.common import common, desk, parse_date, table, wrap


def _key(vend):
    p = vend.add_parser("key", help="vending keys (stored encrypted)")
    s = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    a = common(s.add_parser("add", help="store a vending key read from a hex file (admin)"), operator=True)
    a.add_argument("--sgc", type=int_arg, required=True, help="supply group code (6 digits)")
    a.add_argument("--krn", type=int_arg, required=True, help="key revision number 1..9")
    a.add_argument("--dkga", required=True, choices=("02", "04"), help="decoder key generation algorithm")
    a.add_argument("--key-file", required=True, help="file with the key in hex (8 bytes for DKGA02, "
                                                     "20 for DKGA04)")
    a.add_argument("--expires", help="last day the key may vend (YYYY-MM-DD)")
    a.set_defaults(run=wrap(_run_key_add))
    l = common(s.add_parser("list", help="list stored keys (identities only, never the key)"))
    l.set_defaults(run=wrap(_run_key_list))


def _run_key_add(args):
    from pydantic import SecretStr
    from host.vending import keystore
    where = desk(args)
    key_hex = SecretStr(keystore.read_key_file(args.key_file).hex())
    expires = parse_date(args.expires, "--expires").date() if args.expires else None
    done = where.call("key_add", sgc=args.sgc, krn=args.krn, dkga=args.dkga, key_hex=key_hex, expires_on=expires)
    return done, "vending key SGC %06d KRN %d (DKGA%s) stored encrypted" % (args.sgc, args.krn, args.dkga)


def _run_key_list(args):
    where = desk(args)
    rows = where.call("key_list")
    return rows, table(rows, ["sgc", "krn", "dkga", "expires_on", "created_at"], where.zone())


def register(vend):
    _key(vend)
