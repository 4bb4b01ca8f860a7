"""``prepay vend tariff``: tariffs, versioned with effective dates."""

from host.errors import UserError
from host.cli.vend.common import common, desk, parse_date, table, wrap


def _tariff_args(p):
    price = p.add_mutually_exclusive_group(required=True)
    price.add_argument("--flat", metavar="PRICE", help="price per kWh/m3/min, e.g. 0.25")
    price.add_argument("--blocks", metavar="STEPS", help="block steps over the month's purchases, e.g. "
                                                          "'50:0.10,150:0.20,*:0.30' (up to 50 units at 0.10, ...)")
    p.add_argument("--vat", default="0", metavar="PCT", help="VAT percentage, e.g. 16")
    p.add_argument("--service", default="0", metavar="AMOUNT", help="fixed service charge, excl. VAT")
    p.add_argument("--service-period", choices=("month", "day"),
                   help="how the service charge falls due (default month; needs --service)")
    p.add_argument("--free", default="0", metavar="UNITS", help="free basic units per meter and month")
    p.add_argument("--min", default="1.00", metavar="AMOUNT", help="minimum sale (default 1.00)")
    p.add_argument("--effective", metavar="DATE", help="in force from this UTC date (default: always)")


def _tariff(vend):
    p = vend.add_parser("tariff", help="tariffs (versioned with effective dates)")
    s = p.add_subparsers(dest="tariff_command", metavar="ACTION", required=True)
    a = common(s.add_parser("add", help="add a tariff (supervisor)"), operator=True)
    a.add_argument("name")
    _tariff_args(a)
    a.set_defaults(run=wrap(_run_tariff_add))
    r = common(s.add_parser("revise", help="new prices for a tariff from --effective (supervisor)"), operator=True)
    r.add_argument("name")
    _tariff_args(r)
    r.set_defaults(run=wrap(_run_tariff_revise))
    l = common(s.add_parser("list", help="list tariffs and their versions"))
    l.set_defaults(run=wrap(_run_tariff_list))


def _tariff_version(args):
    from host.parse import fixed, money, percent_bp
    if args.flat is not None:
        blocks = [(None, fixed(args.flat, 6, "price", example="0.25"))]
    else:
        blocks = []
        for step in args.blocks.split(","):
            upto, _, price = step.partition(":")
            if not price:
                raise UserError("block step %r must look like 50:0.10 or *:0.30" % step)
            limit = None if upto.strip() == "*" else fixed(upto, 1, "block limit", example="50")
            blocks.append((limit, fixed(price, 6, "price", example="0.25")))
    service = money(args.service, "service charge")
    if args.service_period and not service:
        raise UserError("--service-period goes with a --service charge")
    return {"blocks": blocks, "vat_bp": percent_bp(args.vat, "VAT"), "service_cents": service,
            "service_period": (args.service_period or "month") if service else "none",
            "free_tenths": fixed(args.free, 1, "free units", example="50"), "min_amount_cents": money(args.min, "minimum"),
            "effective_from": parse_date(args.effective, "--effective") if args.effective else None}


def _run_tariff_add(args):
    version = _tariff_version(args)
    return desk(args).call("tariff_add", name=args.name, version=version), "tariff %s added" % args.name


def _run_tariff_revise(args):
    version = _tariff_version(args)
    done = desk(args).call("tariff_revise", name=args.name, version=version)
    return done, "tariff %s revised from %s" % (args.name, version["effective_from"].date())


def _run_tariff_list(args):
    rows = desk(args).call("tariff_list")
    text_rows = [dict(r, blocks=blocks_text(r["blocks"]), effective_from=r["effective_from"].date()
                      if r["effective_from"] else "always") for r in rows]
    return rows, table(text_rows, ["name", "effective_from", "blocks", "vat_bp", "service_cents",
                                   "service_period", "free_tenths", "min_amount_cents"])


def blocks_text(blocks):
    """Prices as --flat or --blocks take them: '0.25', or '50:0.10,150:0.20,*:0.30'."""
    from host.vending.money import fmt_price, fmt_tenths
    if len(blocks) == 1 and blocks[0]["upto_tenths"] is None:
        return fmt_price(blocks[0]["price_micro"])
    return ",".join("%s:%s" % ("*" if b["upto_tenths"] is None else
                               fmt_tenths(b["upto_tenths"]).removesuffix(".0"),
                               fmt_price(b["price_micro"])) for b in blocks)


def register(vend):
    _tariff(vend)
