"""``prepay key``: derive a meter's decoder key from the vending key (DKGA02 / DKGA04)."""
import json
import os

from host.cli.vocabulary import flag
from host.errors import UserError
from host.cli.token import hex_bytes
from host.parse import int_arg, integer
from tokens.keys import dkga02, dkga04

VENDING_KEY_ENV = "PREPAY_VENDING_KEY"


def run_derive(args):
    text = args.vending_key or os.environ.get(VENDING_KEY_ENV)
    if not text:
        raise UserError("give the vending key with --vending-key HEX or %s" % VENDING_KEY_ENV)
    vending_key = hex_bytes(text, "vending key")
    sgc, ti = integer(args.sgc, "--sgc", maximum=999999), integer(args.ti, "--ti", maximum=99)
    if args.dkga == "02":
        if args.algorithm != "sta":
            raise UserError("DKGA02 makes 64-bit keys for EA07 (sta) only")
        if args.base_date is not None:
            raise UserError("DKGA02 keys do not depend on the base date: --base-date goes "
                            "with --dkga 04")
        key = dkga02(vending_key, args.meter, sgc, ti, args.krn, args.kt)
    else:
        args.base_date = args.base_date or 2014
        key = dkga04(vending_key, args.meter, sgc, ti, args.krn, args.kt, args.base_date,
                     args.algorithm)
    if not args.json:
        print(key.hex())
        return
    print(json.dumps({"decoder_key": key.hex(), "dkga": args.dkga, "meter": args.meter,
                      "sgc": sgc, "ti": ti, "krn": args.krn, "kt": args.kt,
                      "base_date": args.base_date, "algorithm": args.algorithm}))


def register(sub, name, help_text):
    parser = sub.add_parser(name, help=help_text, description=help_text)
    commands = parser.add_subparsers(dest="key_command", metavar="KEY_COMMAND", required=True)
    p = commands.add_parser("derive", help="print the decoder key (hex, big-endian)")
    p.add_argument("--dkga", choices=("02", "04"), required=True)
    p.add_argument("--vending-key", help="vending key in hex (or set %s)" % VENDING_KEY_ENV)
    flag(p, "--meter", old=("--pan",), required=True, metavar="PAN",
         help="the meter's number (PAN), 18 digits with check digit")
    p.add_argument("--sgc", required=True, help="supply group code, 6 digits")
    p.add_argument("--ti", required=True, help="tariff index, 2 digits")
    p.add_argument("--krn", type=int_arg, required=True, help="key revision number")
    p.add_argument("--kt", type=int_arg, required=True, help="key type (0-3)")
    p.add_argument("--base-date", type=int_arg, choices=(1993, 2014, 2035),
                   help="base date of the key (DKGA04 only; default 2014)")
    p.add_argument("--algorithm", choices=("sta", "misty1"), default="sta")
    p.add_argument("--json", action="store_true", help="print the key and what it was "
                   "derived from as JSON")
    p.set_defaults(run=run_derive)
