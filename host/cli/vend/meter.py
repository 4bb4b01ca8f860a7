"""``prepay vend meter``: meters, their keys' identity and their customer."""

from host.parse import int_arg
from host.cli.vend.common import audit_entry, common, open_station, operator_row, wrap


def _meter(vend):
    p = vend.add_parser("meter", help="meters")
    s = p.add_subparsers(dest="meter_command", metavar="ACTION", required=True)
    a = common(s.add_parser("add", help="register a meter (supervisor)"), operator=True)
    a.add_argument("--pan", required=True, help="18-digit meter number (IIN + DRN + Luhn digit)")
    a.add_argument("--customer", required=True, metavar="ACCOUNT")
    a.add_argument("--sgc", type=int_arg, required=True)
    a.add_argument("--ti", type=int_arg, required=True, help="tariff index 0..99")
    a.add_argument("--krn", type=int_arg, required=True)
    a.add_argument("--kt", type=int_arg, default=2, help="key type 0..3 (default 2, unique)")
    a.add_argument("--ken", type=int_arg, default=255, help="key expiry number (default 255)")
    a.add_argument("--algorithm", required=True, help="sta (EA07) or misty1 (EA11)")
    a.add_argument("--base-date", type=int_arg, required=True, choices=(1993, 2014, 2035))
    a.add_argument("--utility", default="electricity", choices=("electricity", "water", "gas", "time"))
    a.add_argument("--credit-mode", default="unit", choices=("unit", "currency"))
    a.add_argument("--tariff", required=True)
    a.set_defaults(run=wrap(_run_meter_add))
    m = common(s.add_parser("move", help="move a meter to another customer (supervisor)"), operator=True)
    m.add_argument("--meter", required=True)
    m.add_argument("--customer", required=True, metavar="ACCOUNT")
    m.set_defaults(run=wrap(_run_meter_move))
    st = common(s.add_parser("status", help="set active, blocked or removed (supervisor)"), operator=True)
    st.add_argument("--meter", required=True)
    st.add_argument("--set", required=True, choices=("active", "blocked", "removed"))
    st.set_defaults(run=wrap(_run_meter_status))
    sh = common(s.add_parser("show", help="look a meter up before a sale"))
    sh.add_argument("--meter", required=True)
    sh.set_defaults(run=wrap(_run_meter_show))


def _run_meter_add(args):
    from host.vending import records
    station = open_station(args)
    actor = operator_row(station, args, "supervisor")
    with station.begin() as conn:
        records.add_meter(conn, station.clock(), args.pan, args.customer, args.sgc, args.ti, args.krn, args.kt,
                          args.algorithm, args.base_date, args.utility, args.tariff, args.credit_mode, args.ken)
        pan = records.normalise_pan(args.pan)
        audit_entry(conn, station, actor["name"], "meter_add", pan, {
            "customer": args.customer, "sgc": args.sgc, "ti": args.ti, "krn": args.krn, "kt": args.kt,
            "algorithm": args.algorithm, "base_year": args.base_date, "tariff": args.tariff})
    return {"meter": pan, "customer": args.customer}, "meter %s added for %s" % (pan, args.customer)


def _run_meter_move(args):
    from host.vending import records
    station = open_station(args)
    actor = operator_row(station, args, "supervisor")
    with station.begin() as conn:
        records.move_meter(conn, station.clock(), args.meter, args.customer)
        audit_entry(conn, station, actor["name"], "meter_move", args.meter, {"customer": args.customer})
    return {"meter": args.meter, "customer": args.customer}, "meter %s now belongs to %s" % (args.meter, args.customer)


def _run_meter_status(args):
    from host.vending import records
    station = open_station(args)
    actor = operator_row(station, args, "supervisor")
    with station.begin() as conn:
        meter = records.set_meter_status(conn, args.meter, args.set)
        audit_entry(conn, station, actor["name"], "meter_status", meter["pan"], {"status": args.set})
    return {"meter": meter["pan"], "status": args.set}, "meter %s is %s" % (meter["pan"], args.set)


def _run_meter_show(args):
    from sqlalchemy import select
    from host.vending import records, schema
    station = open_station(args)
    with station.engine.connect() as conn:
        meter = dict(records.find_meter(conn, args.meter))
        customer = conn.execute(select(schema.customers.c.account, schema.customers.c.name)
                                .where(schema.customers.c.id == meter["customer_id"])).mappings().first()
        tariff = conn.execute(select(schema.tariffs.c.name).where(schema.tariffs.c.id == meter["tariff_id"])).scalar()
        meter["history"] = records.meter_history(conn, meter["id"])
    meter.update(customer=dict(customer), tariff=tariff)
    text = ("%s  %s %s meter, %s\ncustomer %s (%s)\nSGC %06d TI %02d KRN %d KT %d %s base %d KEN %d\n"
            "tariff %s  last TID %d\n") % (
        meter["pan"], meter["utility"], meter["credit_mode"], meter["status"], customer["account"], customer["name"],
        meter["sgc"], meter["ti"], meter["krn"], meter["kt"], meter["algorithm"].upper(), meter["base_year"],
        meter["ken"], tariff, meter["last_tid"])
    return meter, text


def register(vend):
    _meter(vend)
