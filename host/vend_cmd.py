"""``prepay vend``: the vending station's command line (wiring only; the work is in
``host.vending``).

Secrets never come from arguments: the keystore passphrase from
``PREPAY_KEYSTORE_PASSPHRASE`` or a prompt, the acting operator's password from
``PREPAY_OPERATOR_PASSWORD`` or a prompt, a new operator's password from
``PREPAY_NEW_OPERATOR_PASSWORD`` or a prompt, vending keys from a file.
The acting operator is ``--operator NAME`` or ``PREPAY_OPERATOR``.
"""
import datetime
import getpass
import json
import os
import sys

from host.errors import UserError

# Subcommand tree: (name, help, builder). Builders add arguments and set ``run``.


def register(sub, name, help_text):
    parser = sub.add_parser(name, help=help_text, description=help_text + ". See docs/vending.md.")
    vend = parser.add_subparsers(dest="vend_command", metavar="SUBCOMMAND", required=True)
    for builder in (_init, _operator, _key, _tariff, _customer, _debt, _meter, _sell, _reprint, _token,
                    _adjust, _payments, _audit_parser, _report):
        builder(vend)


# Shared plumbing ---------------------------------------------------------------------

def _common(parser, operator=False):
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite path (default: PREPAY_DB, "
                        "else $XDG_DATA_HOME/prepay/vending.db)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    if operator:
        parser.add_argument("--operator", metavar="NAME", default=os.environ.get("PREPAY_OPERATOR"),
                            help="acting operator (default: PREPAY_OPERATOR); password from "
                                 "PREPAY_OPERATOR_PASSWORD or a prompt")
    return parser


def _secret(env, prompt):
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise UserError("%s is not set and there is no terminal to ask" % env)
    return getpass.getpass(prompt)


def _passphrase():
    return _secret("PREPAY_KEYSTORE_PASSPHRASE", "Keystore passphrase: ")


def _wrap(job):
    """Turn the station's own errors into the CLI's one-line user errors."""
    def run(args):
        from sqlalchemy.exc import OperationalError, IntegrityError
        from host.vending.errors import VendError
        try:
            result = job(args)
        except VendError as exc:
            raise UserError(str(exc))
        except OperationalError as exc:
            raise UserError("database unavailable or locked: %s" % str(exc.orig).strip().splitlines()[0])
        except IntegrityError as exc:
            raise UserError("refused by the database (conflicting record): %s"
                            % str(exc.orig).strip().splitlines()[0])
        if result is not None:
            _print(args, result)
        return 0
    return run


def _print(args, result):
    data, text = result
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    elif text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _station(args):
    from host.vending.db import make_engine
    from host.vending.station import Station
    return Station(make_engine(args.db), passphrase=_passphrase)


def _operator_row(station, args, role="clerk"):
    from host.vending import operators
    if not args.operator:
        raise UserError("say who is acting: --operator NAME or PREPAY_OPERATOR")
    password = _secret("PREPAY_OPERATOR_PASSWORD", "Password for %s: " % args.operator)
    with station.engine.connect() as conn:
        return operators.authenticate(conn, args.operator, password, role)


def _date(text, what="date"):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%d")
    except (TypeError, ValueError):
        raise UserError("%s %r must look like 2026-05-31" % (what, text))


def _table(rows, columns):
    if not rows:
        return "(none)\n"
    cells = [["-" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    for row in cells:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(out) + "\n"


def _audit(conn, station, operator_name, action, subject, payload):
    from host.vending import audit
    audit.append(conn, station.clock(), operator_name, action, subject, payload)


# init ----------------------------------------------------------------------------------

def _init(vend):
    p = _common(vend.add_parser("init", help="create or upgrade the database (alembic upgrade head)"))
    p.add_argument("--timezone", help="the utility's IANA time zone for TIDs and receipts (default UTC; "
                                      "fixed once set)")
    p.set_defaults(run=_wrap(_run_init))


def _run_init(args):
    from host.vending import bootstrap
    from host.vending.db import make_engine, resolve_url
    from host.vending.station import utc_now
    engine = make_engine(args.db, create_dir=True)
    passphrase = None
    from sqlalchemy import inspect
    fresh = "settings" not in inspect(engine).get_table_names()
    if fresh or not _has_keystore(engine):
        passphrase = _secret("PREPAY_KEYSTORE_PASSPHRASE", "New keystore passphrase: ")
        if len(passphrase) < 8:
            raise UserError("the keystore passphrase needs at least 8 characters")
    done = bootstrap.init(engine, passphrase, args.timezone, utc_now())
    url = engine.url.render_as_string(hide_password=True)
    done["database"] = url
    return done, "vending database ready: %s (schema at head, keystore %s, time zone %s)" % (
        resolve_url(args.db) if url.startswith("sqlite") else url, done["keystore"], done["timezone"])


def _has_keystore(engine):
    from sqlalchemy import select
    from host.vending import schema
    with engine.connect() as conn:
        return conn.execute(select(schema.settings.c.key).where(schema.settings.c.key == "keystore")).first() is not None


# operators -----------------------------------------------------------------------------

def _operator(vend):
    p = vend.add_parser("operator", help="operators and roles")
    s = p.add_subparsers(dest="operator_command", metavar="ACTION", required=True)
    a = _common(s.add_parser("add", help="add an operator (the first one must be an admin; later ones "
                                         "need an admin's --operator). Password from "
                                         "PREPAY_NEW_OPERATOR_PASSWORD or a prompt"), operator=True)
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=("clerk", "supervisor", "admin"))
    a.set_defaults(run=_wrap(_run_operator_add))
    l = _common(s.add_parser("list", help="list operators"))
    l.set_defaults(run=_wrap(_run_operator_list))
    d = _common(s.add_parser("disable", help="disable an operator (admin)"), operator=True)
    d.add_argument("name")
    d.set_defaults(run=_wrap(_run_operator_disable))


def _new_password(name):
    value = os.environ.get("PREPAY_NEW_OPERATOR_PASSWORD")
    if value:
        return value
    if not sys.stdin.isatty():
        raise UserError("PREPAY_NEW_OPERATOR_PASSWORD is not set and there is no terminal to ask")
    first = getpass.getpass("New password for %s: " % name)
    if getpass.getpass("Repeat: ") != first:
        raise UserError("the passwords differ")
    return first


def _run_operator_add(args):
    from host.vending import operators
    station = _station(args)
    with station.engine.connect() as conn:
        first = operators.count(conn) == 0
    if first:
        if args.role != "admin":
            raise UserError("the first operator must be an admin (--role admin)")
        actor = "-"
    else:
        actor = _operator_row(station, args, "admin")["name"]
    password = _new_password(args.name)
    with station.begin() as conn:
        operators.add(conn, args.name, args.role, password, station.clock())
        _audit(conn, station, actor, "operator_add", args.name, {"role": args.role})
    return {"operator": args.name, "role": args.role}, "operator %s added as %s" % (args.name, args.role)


def _run_operator_list(args):
    from host.vending import operators
    station = _station(args)
    with station.engine.connect() as conn:
        rows = operators.listing(conn)
    return rows, _table(rows, ["name", "role", "active", "created_at"])


def _run_operator_disable(args):
    from host.vending import operators
    station = _station(args)
    actor = _operator_row(station, args, "admin")
    with station.begin() as conn:
        operators.set_active(conn, args.name, False)
        _audit(conn, station, actor["name"], "operator_disable", args.name, {})
    return {"operator": args.name, "active": False}, "operator %s disabled" % args.name


# vending keys --------------------------------------------------------------------------

def _key(vend):
    p = vend.add_parser("key", help="vending keys (stored encrypted)")
    s = p.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    a = _common(s.add_parser("add", help="store a vending key read from a hex file (admin)"), operator=True)
    a.add_argument("--sgc", type=int, required=True, help="supply group code (6 digits)")
    a.add_argument("--krn", type=int, required=True, help="key revision number 1..9")
    a.add_argument("--dkga", required=True, choices=("02", "04"), help="decoder key generation algorithm")
    a.add_argument("--key-file", required=True, help="file with the key in hex (8 bytes for DKGA02, "
                                                     "20 for DKGA04)")
    a.add_argument("--expires", help="last day the key may vend (YYYY-MM-DD)")
    a.set_defaults(run=_wrap(_run_key_add))
    l = _common(s.add_parser("list", help="list stored keys (identities only, never the key)"))
    l.set_defaults(run=_wrap(_run_key_list))


def _run_key_add(args):
    from host.vending import keystore, records
    station = _station(args)
    actor = _operator_row(station, args, "admin")
    key_bytes = keystore.read_key_file(args.key_file)
    expires = _date(args.expires, "--expires").date() if args.expires else None
    with station.begin() as conn:
        records.add_vending_key(conn, station.keystore(conn), station.clock(), args.sgc, args.krn, args.dkga,
                                key_bytes, expires)
        _audit(conn, station, actor["name"], "key_add", "%06d/%d" % (args.sgc, args.krn),
               {"dkga": args.dkga, "expires": expires})
    return ({"sgc": args.sgc, "krn": args.krn, "dkga": args.dkga, "expires": expires},
            "vending key SGC %06d KRN %d (DKGA%s) stored encrypted" % (args.sgc, args.krn, args.dkga))


def _run_key_list(args):
    from host.vending import records
    station = _station(args)
    with station.engine.connect() as conn:
        rows = records.list_vending_keys(conn)
    return rows, _table(rows, ["sgc", "krn", "dkga", "expires_on", "created_at"])


# tariffs -------------------------------------------------------------------------------

def _tariff_args(p):
    price = p.add_mutually_exclusive_group(required=True)
    price.add_argument("--flat", metavar="PRICE", help="price per kWh/m3/min, e.g. 0.25")
    price.add_argument("--blocks", metavar="STEPS", help="block steps over the month's purchases, e.g. "
                                                          "'50:0.10,150:0.20,*:0.30' (up to 50 units at 0.10, ...)")
    p.add_argument("--vat", default="0", metavar="PCT", help="VAT percentage, e.g. 16")
    p.add_argument("--service", default="0", metavar="AMOUNT", help="fixed service charge, excl. VAT")
    p.add_argument("--service-period", default="month", choices=("month", "day"))
    p.add_argument("--free", default="0", metavar="UNITS", help="free basic units per meter and month")
    p.add_argument("--min", default="1.00", metavar="AMOUNT", help="minimum sale (default 1.00)")
    p.add_argument("--effective", metavar="DATE", help="in force from this UTC date (default: always)")


def _tariff(vend):
    p = vend.add_parser("tariff", help="tariffs (versioned with effective dates)")
    s = p.add_subparsers(dest="tariff_command", metavar="ACTION", required=True)
    a = _common(s.add_parser("add", help="add a tariff (supervisor)"), operator=True)
    a.add_argument("name")
    _tariff_args(a)
    a.set_defaults(run=_wrap(_run_tariff_add))
    r = _common(s.add_parser("revise", help="new prices for a tariff from --effective (supervisor)"), operator=True)
    r.add_argument("name")
    _tariff_args(r)
    r.set_defaults(run=_wrap(_run_tariff_revise))
    l = _common(s.add_parser("list", help="list tariffs and their versions"))
    l.set_defaults(run=_wrap(_run_tariff_list))


def _tariff_version(args):
    from host.vending.money import cents, parse_fixed, percent_bp
    if args.flat is not None:
        blocks = [(None, parse_fixed(args.flat, 6, "price"))]
    else:
        blocks = []
        for step in args.blocks.split(","):
            upto, _, price = step.partition(":")
            if not price:
                raise UserError("block step %r must look like 50:0.10 or *:0.30" % step)
            limit = None if upto.strip() == "*" else parse_fixed(upto.strip(), 1, "block limit")
            blocks.append((limit, parse_fixed(price.strip(), 6, "price")))
    service = cents(args.service, "service charge")
    return {"blocks": blocks, "vat_bp": percent_bp(args.vat, "VAT"), "service_cents": service,
            "service_period": args.service_period if service else "none",
            "free_tenths": parse_fixed(args.free, 1, "free units"), "min_amount_cents": cents(args.min, "minimum"),
            "effective_from": _date(args.effective, "--effective") if args.effective else None}


def _run_tariff_add(args):
    from host.vending import records
    station = _station(args)
    actor = _operator_row(station, args, "supervisor")
    version = _tariff_version(args)
    with station.begin() as conn:
        records.add_tariff(conn, station.clock(), args.name, version)
        _audit(conn, station, actor["name"], "tariff_add", args.name, version)
    return {"tariff": args.name, "version": version}, "tariff %s added" % args.name


def _run_tariff_revise(args):
    from host.vending import records
    station = _station(args)
    actor = _operator_row(station, args, "supervisor")
    version = _tariff_version(args)
    if version["effective_from"] is None:
        raise UserError("a revision needs --effective DATE")
    with station.begin() as conn:
        tariff = records.find_tariff(conn, args.name)
        records.add_tariff_version(conn, station.clock(), tariff["id"], version)
        _audit(conn, station, actor["name"], "tariff_revise", args.name, version)
    return {"tariff": args.name, "version": version}, "tariff %s revised from %s" % (
        args.name, version["effective_from"].date())


def _run_tariff_list(args):
    from host.vending import records
    station = _station(args)
    with station.engine.connect() as conn:
        rows = records.list_tariffs(conn)
    for r in rows:
        r["blocks"] = json.loads(r["blocks"])
    return rows, _table(rows, ["name", "effective_from", "blocks", "vat_bp", "service_cents", "service_period",
                               "free_tenths", "min_amount_cents"])


# customers and debt --------------------------------------------------------------------

def _customer(vend):
    p = vend.add_parser("customer", help="customers")
    s = p.add_subparsers(dest="customer_command", metavar="ACTION", required=True)
    a = _common(s.add_parser("add", help="add a customer"), operator=True)
    a.add_argument("--account", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--address")
    a.add_argument("--phone")
    a.add_argument("--contact", help="contact person")
    a.add_argument("--id-number")
    a.add_argument("--settlement-day", type=int, default=1, help="day of month for settlement (1..28)")
    a.set_defaults(run=_wrap(_run_customer_add))
    sh = _common(s.add_parser("show", help="a customer with meters and debt"))
    sh.add_argument("--account", required=True)
    sh.set_defaults(run=_wrap(_run_customer_show))


def _run_customer_add(args):
    from host.vending import records
    station = _station(args)
    actor = _operator_row(station, args, "clerk")
    with station.begin() as conn:
        records.add_customer(conn, station.clock(), args.account, args.name, args.address, args.phone,
                             args.contact, args.id_number, args.settlement_day)
        _audit(conn, station, actor["name"], "customer_add", args.account, {"name": args.name})
    return {"account": args.account, "name": args.name}, "customer %s (%s) added" % (args.account, args.name)


def _run_customer_show(args):
    from sqlalchemy import select
    from host.vending import records, schema
    from host.vending.money import fmt_cents
    station = _station(args)
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
    a = _common(s.add_parser("set", help="set a customer's debt and recovery %% (supervisor)"), operator=True)
    a.add_argument("--account", required=True)
    a.add_argument("--amount", required=True, help="outstanding debt, e.g. 250.00")
    a.add_argument("--recovery", required=True, metavar="PCT", help="percentage of each purchase, e.g. 12")
    a.set_defaults(run=_wrap(_run_debt_set))


def _run_debt_set(args):
    from host.vending import records, schema
    from host.vending.db import lock_row
    from host.vending.money import cents, percent_bp
    station = _station(args)
    actor = _operator_row(station, args, "supervisor")
    amount, rate = cents(args.amount, "debt"), percent_bp(args.recovery, "recovery")
    with station.begin() as conn:
        customer = records.find_customer(conn, args.account)
        before = lock_row(conn, schema.customers, customer["id"])["debt_cents"]
        records.set_debt(conn, customer["id"], amount, rate)
        _audit(conn, station, actor["name"], "debt_set", args.account,
               {"before_cents": before, "debt_cents": amount, "recovery_bp": rate})
    return {"account": args.account, "debt_cents": amount, "recovery_bp": rate}, \
        "debt of %s set to %s, recovery %s%%" % (args.account, args.amount, args.recovery)


# meters --------------------------------------------------------------------------------

def _meter(vend):
    p = vend.add_parser("meter", help="meters")
    s = p.add_subparsers(dest="meter_command", metavar="ACTION", required=True)
    a = _common(s.add_parser("add", help="register a meter (supervisor)"), operator=True)
    a.add_argument("--pan", required=True, help="18-digit meter number (IIN + DRN + Luhn digit)")
    a.add_argument("--customer", required=True, metavar="ACCOUNT")
    a.add_argument("--sgc", type=int, required=True)
    a.add_argument("--ti", type=int, required=True, help="tariff index 0..99")
    a.add_argument("--krn", type=int, required=True)
    a.add_argument("--kt", type=int, default=2, help="key type 0..3 (default 2, unique)")
    a.add_argument("--ken", type=int, default=255, help="key expiry number (default 255)")
    a.add_argument("--algorithm", required=True, help="sta (EA07) or misty1 (EA11)")
    a.add_argument("--base-date", type=int, required=True, choices=(1993, 2014, 2035))
    a.add_argument("--utility", default="electricity", choices=("electricity", "water", "gas", "time"))
    a.add_argument("--credit-mode", default="unit", choices=("unit", "currency"))
    a.add_argument("--tariff", required=True)
    a.set_defaults(run=_wrap(_run_meter_add))
    m = _common(s.add_parser("move", help="move a meter to another customer (supervisor)"), operator=True)
    m.add_argument("--meter", required=True)
    m.add_argument("--customer", required=True, metavar="ACCOUNT")
    m.set_defaults(run=_wrap(_run_meter_move))
    st = _common(s.add_parser("status", help="set active, blocked or removed (supervisor)"), operator=True)
    st.add_argument("--meter", required=True)
    st.add_argument("--set", required=True, choices=("active", "blocked", "removed"))
    st.set_defaults(run=_wrap(_run_meter_status))
    sh = _common(s.add_parser("show", help="look a meter up before a sale"))
    sh.add_argument("--meter", required=True)
    sh.set_defaults(run=_wrap(_run_meter_show))


def _run_meter_add(args):
    from host.vending import records
    station = _station(args)
    actor = _operator_row(station, args, "supervisor")
    with station.begin() as conn:
        records.add_meter(conn, station.clock(), args.pan, args.customer, args.sgc, args.ti, args.krn, args.kt,
                          args.algorithm, args.base_date, args.utility, args.tariff, args.credit_mode, args.ken)
        pan = records.normalise_pan(args.pan)
        _audit(conn, station, actor["name"], "meter_add", pan, {
            "customer": args.customer, "sgc": args.sgc, "ti": args.ti, "krn": args.krn, "kt": args.kt,
            "algorithm": args.algorithm, "base_year": args.base_date, "tariff": args.tariff})
    return {"meter": pan, "customer": args.customer}, "meter %s added for %s" % (pan, args.customer)


def _run_meter_move(args):
    from host.vending import records
    station = _station(args)
    actor = _operator_row(station, args, "supervisor")
    with station.begin() as conn:
        records.move_meter(conn, station.clock(), args.meter, args.customer)
        _audit(conn, station, actor["name"], "meter_move", args.meter, {"customer": args.customer})
    return {"meter": args.meter, "customer": args.customer}, "meter %s now belongs to %s" % (args.meter, args.customer)


def _run_meter_status(args):
    from host.vending import records
    station = _station(args)
    actor = _operator_row(station, args, "supervisor")
    with station.begin() as conn:
        meter = records.set_meter_status(conn, args.meter, args.set)
        _audit(conn, station, actor["name"], "meter_status", meter["pan"], {"status": args.set})
    return {"meter": meter["pan"], "status": args.set}, "meter %s is %s" % (meter["pan"], args.set)


def _run_meter_show(args):
    from sqlalchemy import select
    from host.vending import records, schema
    station = _station(args)
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


# selling and reprinting ----------------------------------------------------------------

def _receipt_file_arg(p):
    p.add_argument("--receipt-file", metavar="PATH", help="also write the receipt to PATH (.pdf for PDF, "
                                                          "anything else for text)")


def _sell(vend):
    p = _common(vend.add_parser("sell", help="sell credit to a meter and print the receipt"), operator=True)
    p.add_argument("--meter", required=True, help="meter number (PAN)")
    p.add_argument("--amount", required=True, help="amount tendered, e.g. 100.00")
    p.add_argument("--channel", required=True, choices=("cash", "bank", "mobile", "card"))
    p.add_argument("--ref", help="payment reference: a retry with the same reference vends nothing twice")
    _receipt_file_arg(p)
    p.set_defaults(run=_wrap(_run_sell))


def _write_receipt(data, path):
    from host.vending import receipts
    if not path:
        return
    try:
        if path.lower().endswith(".pdf"):
            receipts.write_pdf(data, path)
        else:
            with open(path, "w") as handle:
                handle.write(receipts.text(data))
    except OSError as exc:
        raise UserError("the sale is recorded (receipt %s) but the receipt file could not be written: %s"
                        % (data["receipt"], exc.strerror))


def _run_sell(args):
    from host.vending import receipts, sales
    from host.vending.money import cents
    amount = cents(args.amount)
    station = _station(args)
    operator = _operator_row(station, args, "clerk")
    data = sales.sell(station, operator, args.meter, amount, args.channel, reference=args.ref)
    _write_receipt(data, args.receipt_file)
    return data, receipts.text(data)


def _reprint(vend):
    p = _common(vend.add_parser("reprint", help="print a past receipt again (same tokens, no new TID)"),
                operator=True)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--receipt", type=int, help="receipt number")
    which.add_argument("--meter", help="the meter's last sale")
    _receipt_file_arg(p)
    p.set_defaults(run=_wrap(_run_reprint))


def _run_reprint(args):
    from host.vending import receipts, sales
    station = _station(args)
    operator = _operator_row(station, args, "clerk")
    data = sales.reprint(station, operator, sale_id=args.receipt, pan=args.meter)
    _write_receipt(data, args.receipt_file)
    return data, receipts.text(data)


# management tokens ---------------------------------------------------------------------

def _token(vend):
    p = vend.add_parser("token", help="management, key change and test tokens")
    s = p.add_subparsers(dest="token_command", metavar="KIND", required=True)
    from host.vending.mgmt import MANAGEMENT
    for kind, (_, value_name) in sorted(MANAGEMENT.items()):
        t = _common(s.add_parser(kind, help="%s token (supervisor)" % kind), operator=True)
        t.add_argument("--meter", required=True)
        if value_name:
            t.add_argument("--value", required=kind != "clear-credit", type=int,
                           help=value_name + (" (default: all registers)" if kind == "clear-credit" else ""))
        t.set_defaults(run=_wrap(_run_mgmt), kind=kind)
    k = _common(s.add_parser("key-change", help="key change token set (supervisor); printed again with "
                                                "the meter's next sale"), operator=True)
    k.add_argument("--meter", required=True)
    k.add_argument("--krn", type=int, help="new key revision")
    k.add_argument("--sgc", type=int, help="new supply group")
    k.add_argument("--ti", type=int, help="new tariff index")
    k.add_argument("--kt", type=int, help="new key type")
    k.add_argument("--ken", type=int, help="new key expiry number")
    k.add_argument("--base-date", type=int, choices=(1993, 2014, 2035),
                   help="new base date: a TID-rollover key change (RO bit set)")
    k.set_defaults(run=_wrap(_run_key_change))
    t = _common(s.add_parser("test", help="class-1 test/display token (any meter)"), operator=True)
    t.add_argument("--control", type=int, default=0, help="control bits (0: all tests)")
    t.add_argument("--mfr", type=int, default=0, help="manufacturer code")
    t.add_argument("--mfr-digits", type=int, default=2, choices=(2, 4))
    t.set_defaults(run=_wrap(_run_test_token))


def _token_text(title, rows, extra=""):
    lines = [title]
    for i, row in enumerate(rows, 1):
        lines.append("  %d. %s%s" % (i, _fmt(row["digits"]), "  (TID %d)" % row["tid"] if row.get("tid") else ""))
    return "\n".join(lines) + ("\n" + extra if extra else "") + "\n"


def _fmt(digits):
    from tokens.sts import format_digits
    return format_digits(digits)


def _run_mgmt(args):
    from host.vending import mgmt
    station = _station(args)
    operator = _operator_row(station, args, "supervisor")
    value = getattr(args, "value", None)
    if args.kind == "clear-credit" and value is None:
        value = 0xFFFF
    row = mgmt.issue_management(station, operator, args.meter, args.kind, value)
    row["formatted"] = _fmt(row["digits"])
    return row, _token_text("%s token for meter %s" % (args.kind, row["meter"]), [row])


def _run_key_change(args):
    from host.vending import mgmt
    station = _station(args)
    operator = _operator_row(station, args, "supervisor")
    result = mgmt.key_change(station, operator, args.meter, krn=args.krn, sgc=args.sgc, ti=args.ti, kt=args.kt,
                             base_year=args.base_date, ken=args.ken)
    for row in result["tokens"]:
        row["formatted"] = _fmt(row["digits"])
    note = ("enter them in order; the meter's next sale prints them again before its credit token"
            + ("; rollover: the meter clears its TID memory" if result["rollover"] else ""))
    return result, _token_text("key change for meter %s: KRN %d -> %d, base %d -> %d" % (
        result["meter"], result["from"]["krn"], result["to"]["krn"], result["from"]["base_year"],
        result["to"]["base_year"]), result["tokens"], note)


def _run_test_token(args):
    from host.vending import mgmt
    station = _station(args)
    operator = _operator_row(station, args, "clerk")
    row = mgmt.test_token(station, operator, args.control, args.mfr, args.mfr_digits)
    row["formatted"] = _fmt(row["digits"])
    return row, _token_text("test token", [row])


# adjustments (dual confirmation) --------------------------------------------------------

def _adjust(vend):
    p = vend.add_parser("adjust", help="refunds, offsets and credit adjustments (need a supervisor's "
                                       "confirmation)")
    s = p.add_subparsers(dest="adjust_command", metavar="ACTION", required=True)
    r = _common(s.add_parser("request", help="enter a pending adjustment"), operator=True)
    r.add_argument("--kind", required=True, choices=("refund", "offset", "credit"))
    r.add_argument("--receipt", type=int, help="the sale a refund reverses")
    r.add_argument("--account", help="customer account (offset)")
    r.add_argument("--meter", help="meter to credit (credit)")
    r.add_argument("--amount", help="money amount (refund, offset; offset may be negative)")
    r.add_argument("--units", help="units to credit (credit), e.g. 25.0")
    r.add_argument("--reason", required=True)
    r.set_defaults(run=_wrap(_run_adjust_request))
    for action in ("confirm", "reject"):
        c = _common(s.add_parser(action, help="%s a pending adjustment (supervisor, not the requester)" % action),
                    operator=True)
        c.add_argument("id", type=int)
        c.set_defaults(run=_wrap(_run_adjust_decide), action=action)
    l = _common(s.add_parser("list", help="list adjustments"))
    l.add_argument("--pending", action="store_true")
    l.set_defaults(run=_wrap(_run_adjust_list))


def _run_adjust_request(args):
    from host.vending import adjustments
    from host.vending.money import cents, parse_fixed
    station = _station(args)
    operator = _operator_row(station, args, "clerk")
    amount = cents(args.amount, "amount", allow_negative=args.kind == "offset") if args.amount else 0
    units = parse_fixed(args.units, 1, "units") if args.units else 0
    row = adjustments.request(station, operator, args.kind, args.reason, sale_id=args.receipt,
                              account=args.account, pan=args.meter, amount_cents=amount, units_tenths=units)
    return row, "adjustment %d (%s) is pending until a supervisor confirms it" % (row["id"], args.kind)


def _run_adjust_decide(args):
    from host.vending import adjustments
    station = _station(args)
    operator = _operator_row(station, args, "supervisor")
    row = adjustments.decide(station, operator, args.id, args.action == "confirm")
    text = "adjustment %d %s" % (row["id"], row["status"])
    if row.get("token"):
        text += "\ncredit token for meter %s: %s (TID %d)" % (row["token"]["meter"], _fmt(row["token"]["digits"]),
                                                             row["token"]["tid"])
    return row, text


def _run_adjust_list(args):
    from host.vending import adjustments
    station = _station(args)
    with station.engine.connect() as conn:
        rows = adjustments.listing(conn, pending_only=args.pending)
    return rows, _table(rows, ["id", "kind", "status", "account", "sale_id", "amount_cents", "units_tenths",
                               "requested_by", "confirmed_by", "reason"])


# payments import -----------------------------------------------------------------------

def _payments(vend):
    p = vend.add_parser("payments", help="bank and mobile-money statements")
    s = p.add_subparsers(dest="payments_command", metavar="ACTION", required=True)
    i = _common(s.add_parser("import", help="vend every matched line of a CSV statement once"), operator=True)
    i.add_argument("file")
    i.add_argument("--source", required=True, help="statement source, e.g. bank-kcb or mpesa; a line "
                                                  "is vended once per (source, reference)")
    i.add_argument("--receipts-dir", help="write each new sale's receipt there as text")
    i.set_defaults(run=_wrap(_run_payments_import))


def _run_payments_import(args):
    from host.vending import payments, receipts
    station = _station(args)
    operator = _operator_row(station, args, "clerk")
    result = payments.import_statement(station, operator, args.file, args.source)
    if args.receipts_dir:
        os.makedirs(args.receipts_dir, exist_ok=True)
        for line in result["vended"]:
            with open(os.path.join(args.receipts_dir, "receipt-%d.txt" % line["receipt"]), "w") as handle:
                handle.write(receipts.text(line["sale"]))
    for line in result["vended"]:
        line.pop("sale", None)
    text = ["statement %s: %d lines, %d vended, %d already done, %d unmatched, %d failed" % (
        args.file, result["lines"], len(result["vended"]), len(result["skipped"]), len(result["unmatched"]),
        len(result["failed"]))]
    for line in result["vended"]:
        text.append("  vended   %-16s receipt %d  %s" % (line["reference"], line["receipt"], " / ".join(line["tokens"])))
    for line in result["unmatched"]:
        text.append("  UNMATCHED %-15s account %s amount %s: %s" % (line["reference"], line["account"],
                                                                     line["amount"], line["note"]))
    for line in result["failed"]:
        text.append("  FAILED   %-16s %s" % (line["reference"], line["note"]))
    return result, "\n".join(text)


# audit ---------------------------------------------------------------------------------

def _audit_parser(vend):
    p = vend.add_parser("audit", help="the hash-chained audit log")
    s = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = _common(s.add_parser("verify", help="check the chain and the sales it vouches for"))
    v.set_defaults(run=_wrap(_run_audit_verify))
    sh = _common(s.add_parser("show", help="the last entries"))
    sh.add_argument("--last", type=int, default=20)
    sh.set_defaults(run=_wrap(_run_audit_show))


def _run_audit_verify(args):
    from host.vending import audit
    station = _station(args)
    with station.engine.connect() as conn:
        problems, count = audit.verify(conn)
    data = {"entries": count, "ok": not problems, "problems": problems}
    if problems:
        if args.json:
            print(json.dumps(data, indent=2))
        raise UserError("audit log damaged: %d problem(s); first: %s" % (len(problems), problems[0])
                        if not args.json else "audit log damaged")
    return data, "audit log intact: %d entries, chain and sales verified" % count


def _run_audit_show(args):
    from sqlalchemy import select
    from host.vending import schema
    station = _station(args)
    log = schema.audit_log
    with station.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(log.c.id, log.c.at, log.c.operator, log.c.action,
                                                     log.c.subject, log.c.payload)
                                              .order_by(log.c.id.desc()).limit(args.last)).mappings()]
    rows.reverse()
    return rows, _table(rows, ["id", "at", "operator", "action", "subject", "payload"])


# reports -------------------------------------------------------------------------------

def _report(vend):
    p = vend.add_parser("report", help="sales, settlement and meter history reports")
    s = p.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    d = _common(s.add_parser("daily", help="daily sales by channel and operator"))
    _range(d)
    d.set_defaults(run=_wrap(_run_report_daily))
    m = _common(s.add_parser("settlement", help="monthly settlement per customer on their settlement day"))
    m.add_argument("--month", required=True, help="YYYY-MM: settlements falling due in that month")
    m.add_argument("--csv", metavar="PATH", help="also write CSV")
    m.set_defaults(run=_wrap(_run_report_settlement))
    h = _common(s.add_parser("meter", help="purchase history of one meter"))
    h.add_argument("--meter", required=True)
    _range(h)
    h.add_argument("--chart", metavar="PNG", help="also draw the purchases over time")
    h.set_defaults(run=_wrap(_run_report_meter))


def _range(p):
    p.add_argument("--from", dest="date_from", metavar="DATE", help="first day (UTC), default 30 days ago")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="last day included (UTC), default today")
    p.add_argument("--csv", metavar="PATH", help="also write CSV")


def _dates(args, station):
    to = _date(args.date_to, "--to") if args.date_to else datetime.datetime.combine(station.clock().date(),
                                                                                     datetime.time())
    start = _date(args.date_from, "--from") if args.date_from else to - datetime.timedelta(days=30)
    if start > to:
        raise UserError("--from is after --to")
    return start, to + datetime.timedelta(days=1)


def _report_out(args, rows, columns):
    from host.vending import reports
    if args.csv:
        reports.write_csv(args.csv, rows, columns)
    return rows, _table(rows, columns)


def _run_report_daily(args):
    from host.vending import reports
    station = _station(args)
    start, end = _dates(args, station)
    with station.engine.connect() as conn:
        rows = reports.daily(conn, start, end)
    return _report_out(args, rows, reports.DAILY_COLUMNS)


def _run_report_settlement(args):
    from host.vending import reports
    station = _station(args)
    try:
        year, month = (int(x) for x in args.month.split("-"))
        datetime.date(year, month, 1)
    except ValueError:
        raise UserError("--month %r must look like 2026-05" % args.month)
    with station.engine.connect() as conn:
        rows = reports.settlement(conn, year, month)
    return _report_out(args, rows, reports.SETTLEMENT_COLUMNS)


def _run_report_meter(args):
    from host.vending import reports
    station = _station(args)
    start, end = _dates(args, station)
    with station.engine.connect() as conn:
        pan, rows = reports.meter_history(conn, args.meter, start, end)
    if args.chart:
        reports.chart(args.chart, pan, rows)
    return _report_out(args, rows, reports.METER_COLUMNS)
