"""``prepay vend customer`` and ``prepay vend debt``: customers and their debt."""

from host.parse import int_arg
from host.cli.vend.common import audit_entry, common, open_station, operator_row, wrap


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
    from host.vending import records
    station = open_station(args)
    actor = operator_row(station, args, "clerk")
    with station.begin() as conn:
        records.add_customer(conn, station.clock(), args.account, args.name, args.address, args.phone,
                             args.contact, args.id_number, args.settlement_day)
        audit_entry(conn, station, actor["name"], "customer_add", args.account, {"name": args.name})
    return {"account": args.account, "name": args.name}, "customer %s (%s) added" % (args.account, args.name)


def _run_customer_show(args):
    from sqlalchemy import select
    from host.vending import records, schema
    from host.vending.money import fmt_cents
    station = open_station(args)
    with station.engine.connect() as conn:
        c = dict(records.find_customer(conn, args.account))
        meters = [dict(r) for r in conn.execute(select(schema.meters.c.pan, schema.meters.c.utility,
                                                       schema.meters.c.status)
                                                .where(schema.meters.c.customer_id == c["id"])).mappings()]
    c["meters"] = meters
    text = "%s  %s\nphone %s  settlement day %d\ndebt %s (recovery %s%%)\nmeters: %s\n" % (
        c["account"], c["name"], c["phone"] or "-", c["settlement_day"], fmt_cents(c["debt_cents"]),
        fmt_cents(c["debt_recovery_bp"]), ", ".join(m["pan"] for m in meters) or "-")
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
    from host.vending import records, schema
    from host.vending.db import lock_row
    from host.parse import money, percent_bp
    amount, rate = money(args.amount, "debt"), percent_bp(args.recovery, "recovery")
    station = open_station(args)
    actor = operator_row(station, args, "supervisor")
    with station.begin() as conn:
        customer = records.find_customer(conn, args.account)
        before = lock_row(conn, schema.customers, customer["id"])["debt_cents"]
        records.set_debt(conn, customer["id"], amount, rate)
        audit_entry(conn, station, actor["name"], "debt_set", args.account,
               {"before_cents": before, "debt_cents": amount, "recovery_bp": rate})
    return {"account": args.account, "debt_cents": amount, "recovery_bp": rate}, \
        "debt of %s set to %s, recovery %s%%" % (args.account, args.amount, args.recovery)


def register(vend):
    _customer(vend)
    _debt(vend)
