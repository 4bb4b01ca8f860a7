"""``prepay vend customer`` and ``prepay vend debt``: customers and their debt."""

from host.parse import int_arg
from host.cli.vend.common import common, desk, wrap


def _customer(vend):
    p = vend.add_parser("customer", help="customers")
    s = p.add_subparsers(dest="customer_command", metavar="ACTION", required=True)
    a = common(s.add_parser("add", help="add a customer"), operator=True)
    a.add_argument("--account", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--address")
    a.add_argument("--phone")
    a.add_argument("--contact", help="contact person")
    a.add_argument("--id-number")
    a.add_argument("--settlement-day", type=int_arg, default=1, help="day of month for settlement (1..28)")
    a.set_defaults(run=wrap(_run_customer_add))
    sh = common(s.add_parser("show", help="a customer with meters and debt"))
    sh.add_argument("--account", required=True)
    sh.set_defaults(run=wrap(_run_customer_show))


def _run_customer_add(args):
    added = desk(args).call("customer_add", account=args.account, name=args.name, address=args.address,
                            phone=args.phone, contact=args.contact, id_number=args.id_number,
                            settlement_day=args.settlement_day)
    return added, "customer %s (%s) added" % (
        added["account"], added["name"])


def _run_customer_show(args):
    from host.vending.money import fmt_cents, fmt_percent
    from host.vending.text import shown
    c = desk(args).call("customer_show", account=args.account)
    text = "%s  %s\nphone %s  settlement day %d\ndebt %s (recovery %s)\nmeters: %s\n" % (
        shown(c["account"]), shown(c["name"]), shown(c["phone"] or "-"), c["settlement_day"],
        fmt_cents(c["debt_cents"]), fmt_percent(c["debt_recovery_bp"]),
        ", ".join(m["pan"] for m in c["meters"]) or "-")
    return c, text


def _debt(vend):
    p = vend.add_parser("debt", help="customer debt and its recovery rate")
    s = p.add_subparsers(dest="debt_command", metavar="ACTION", required=True)
    a = common(s.add_parser("set", help="set a customer's debt and recovery %% (supervisor)"), operator=True)
    a.add_argument("--account", required=True)
    a.add_argument("--amount", required=True, help="outstanding debt, e.g. 250.00")
    a.add_argument("--recovery", required=True, metavar="PCT", help="percentage of each purchase, e.g. 12")
    a.set_defaults(run=wrap(_run_debt_set))


def _run_debt_set(args):
    from host.vending.money import fmt_cents, fmt_percent
    from host.parse import money, percent_bp
    amount, rate = money(args.amount, "debt"), percent_bp(args.recovery, "recovery")
    done = desk(args).call("debt_set", account=args.account, debt_cents=amount, recovery_bp=rate)
    return done, "debt of %s set to %s, recovery %s" % (done["account"], fmt_cents(amount),
                                                        fmt_percent(rate))


def register(vend):
    _customer(vend)
    _debt(vend)
