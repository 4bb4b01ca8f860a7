"""``prepay vend meter``: meters, their keys' identity and their customer."""

from host.parse import int_arg
from host.cli.vend.common import cell, common, desk, wrap
from host.cli.vocabulary import flag


def _meter(vend):
    p = vend.add_parser("meter", help="meters")
    s = p.add_subparsers(dest="meter_command", metavar="ACTION", required=True)
    a = common(s.add_parser("add", help="register a meter (supervisor)"), operator=True)
    flag(a, "--meter", old=("--pan",), required=True, metavar="PAN",
         help="the new meter's 18-digit number (IIN + DRN + Luhn digit)")
    flag(a, "--account", old=("--customer",), required=True, help="the customer's account")
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
    m.add_argument("--meter", required=True, metavar="PAN")
    flag(m, "--account", old=("--customer",), required=True, help="the new customer's account")
    m.set_defaults(run=wrap(_run_meter_move))
    st = common(s.add_parser("status", help="set active, blocked or removed (supervisor)"), operator=True)
    st.add_argument("--meter", required=True)
    st.add_argument("--set", required=True, choices=("active", "blocked", "removed"))
    st.set_defaults(run=wrap(_run_meter_status))
    sh = common(s.add_parser("show", help="look a meter up before a sale"))
    sh.add_argument("--meter", required=True)
    sh.set_defaults(run=wrap(_run_meter_show))


def _run_meter_add(args):
    done = desk(args).call("meter_add", meter=args.meter, account=args.account, sgc=args.sgc, ti=args.ti,
                           krn=args.krn, kt=args.kt, ken=args.ken, algorithm=args.algorithm,
                           base_date=args.base_date, utility=args.utility, credit_mode=args.credit_mode,
                           tariff=args.tariff)
    return done, "meter %s added for %s" % (done["meter"], done["account"])


def _run_meter_move(args):
    done = desk(args).call("meter_move", meter=args.meter, account=args.account)
    return done, "meter %s now belongs to %s" % (done["meter"], done["account"])


def _run_meter_status(args):
    done = desk(args).call("meter_status", meter=args.meter, status=args.set)
    return done, "meter %s is %s" % (done["meter"], done["status"])


def _run_meter_show(args):
    from host.vending.text import shown
    where = desk(args)
    meter = where.call("meter_show", meter=args.meter)
    customer = meter["customer"]
    text = ("%s  %s %s meter, %s\ncustomer %s (%s)\nSGC %06d TI %02d KRN %d KT %d %s base %d KEN %d\n"
            "tariff %s  last TID %d\n") % (
        meter["pan"], meter["utility"], meter["credit_mode"], meter["status"], shown(customer["account"]),
        shown(customer["name"]), meter["sgc"], meter["ti"], meter["krn"], meter["kt"], meter["algorithm"].upper(),
        meter["base_year"], meter["ken"], shown(meter["tariff"]), meter["last_tid"])
    done = meter.get("commissioning")
    text += ("commissioned %s by %s: serial %s, firmware %s, configuration %s, self-test %s\n" % (
        cell("at", done["at"], where.zone()), shown(done["technician"]), shown(done["serial"]), done["firmware_hash"][:12],
        done["config_hash"][:12], ", ".join("%s %s" % (s["step"], s["result"]) for s in done["self_test"]))
        if done else "not commissioned (prepay provision meter)\n")
    return meter, text


def register(vend):
    _meter(vend)
