"""``prepay vend token``: management, key change and test tokens."""

from host.parse import int_arg
from host.cli.token import add_test_options, test_control
from host.cli.vend.common import common, desk, token_digits, wrap
from host.cli.vocabulary import flag


def _token(vend):
    p = vend.add_parser("token", help="management, key change and test tokens")
    s = p.add_subparsers(dest="token_command", metavar="KIND", required=True)
    from host.vending.mgmt import MANAGEMENT
    for kind, (_, value_name) in sorted(MANAGEMENT.items()):
        t = common(s.add_parser(kind, help="%s token (supervisor)" % kind), operator=True)
        t.add_argument("--meter", required=True)
        if value_name:
            flag(t, "--" + value_name, old=("--value",), required=kind != "clear-credit",
                 type=int_arg, help=value_name + (" (default: all registers)"
                                                  if kind == "clear-credit" else ""))
        t.set_defaults(run=wrap(_run_mgmt), kind=kind, value_name=value_name)
    k = common(s.add_parser("key-change", help="key change token set (supervisor); printed again with "
                                                "the meter's next sale"), operator=True)
    k.add_argument("--meter", required=True)
    k.add_argument("--krn", type=int_arg, help="new key revision")
    k.add_argument("--sgc", type=int_arg, help="new supply group")
    k.add_argument("--ti", type=int_arg, help="new tariff index")
    k.add_argument("--kt", type=int_arg, help="new key type")
    k.add_argument("--ken", type=int_arg, help="new key expiry number")
    k.add_argument("--base-date", type=int_arg, choices=(1993, 2014, 2035),
                   help="new base date: a TID-rollover key change (RO bit set)")
    k.set_defaults(run=wrap(_run_key_change))
    t = common(s.add_parser("test", help="class-1 test/display token (any meter)"), operator=True)
    add_test_options(t)
    flag(t, "--mfr-code", old=("--mfr",), type=int_arg, default=0, help="manufacturer code")
    t.add_argument("--mfr-digits", type=int_arg, default=2, choices=(2, 4))
    t.set_defaults(run=wrap(_run_test_token))


def _token_text(title, rows, extra=""):
    lines = [title]
    for i, row in enumerate(rows, 1):
        lines.append("  %d. %s%s" % (i, token_digits(row["digits"]), "  (TID %d)" % row["tid"] if row.get("tid") else ""))
    return "\n".join(lines) + ("\n" + extra if extra else "") + "\n"


def _run_mgmt(args):
    value = getattr(args, args.value_name) if args.value_name else None
    if args.kind == "clear-credit" and value is None:
        value = 0xFFFF
    row = desk(args).call("token_management", meter=args.meter, kind=args.kind, value=value)
    row["formatted"] = token_digits(row["digits"])
    return row, _token_text("%s token for meter %s" % (args.kind, row["meter"]), [row])


def _run_key_change(args):
    result = desk(args).call("token_key_change", meter=args.meter, krn=args.krn, sgc=args.sgc, ti=args.ti,
                             kt=args.kt, base_date=args.base_date, ken=args.ken)
    for row in result["tokens"]:
        row["formatted"] = token_digits(row["digits"])
    note = ("enter them in order; the meter's next sale prints them again before its credit token"
            + ("; rollover: the meter clears its TID memory" if result["rollover"] else ""))
    return result, _token_text("key change for meter %s: KRN %d -> %d, base %d -> %d" % (
        result["meter"], result["from"]["krn"], result["to"]["krn"], result["from"]["base_year"],
        result["to"]["base_year"]), result["tokens"], note)


def _run_test_token(args):
    row = desk(args).call("token_test", control=test_control(args), mfr_code=args.mfr_code,
                          mfr_digits=args.mfr_digits)
    row["formatted"] = token_digits(row["digits"])
    return row, _token_text("test token: %s" % row["tests"], [row])


def register(vend):
    _token(vend)
