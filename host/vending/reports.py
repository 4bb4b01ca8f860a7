"""Reports for the counter and the finance office, aggregated in SQL.

* ``daily``: sales per UTC day, channel and operator.
* ``settlement``: per customer, the settlement period that ends in the month asked
  for: a month long, starting on the customer's settlement day (UTC). For ``2026-05``,
  day 15 covers 2026-04-15 to 2026-05-14 and day 1 covers 2026-05-01 to 2026-05-31.
  Confirmed refunds in the same period are subtracted in ``net_cents``.
* ``meter_history``: one meter's purchases, with a PNG chart if asked.
Money columns are integer cents; CSV files carry them as decimal strings, every text
cell through ``text.csv_cell`` (no formula can start a cell).
"""
import csv
import datetime

from sqlalchemy import and_, func, or_, select, text

from host.vending import schema
from host.parse import format_fixed
from host.vending.money import fmt_cents, fmt_tenths
from host.vending.text import csv_cell

DAILY_COLUMNS = ["day", "channel", "operator", "sales", "amount", "debt", "service", "vat", "energy", "units"]
SETTLEMENT_COLUMNS = ["account", "name", "period_from", "period_to", "sales", "amount", "debt", "service", "vat",
                      "energy", "units", "refunds", "net"]
METER_COLUMNS = ["receipt", "sold_at", "channel", "operator", "amount", "vat", "energy", "units", "tid"]

_MONEY = {"amount": "amount_cents", "debt": "debt_cents", "service": "service_cents", "vat": "vat_cents",
          "energy": "energy_cents", "refunds": "refunds_cents", "net": "net_cents"}


def _money_sums(s):
    return [func.count().label("sales"),
            func.sum(s.c.amount_cents).label("amount_cents"), func.sum(s.c.debt_cents).label("debt_cents"),
            func.sum(s.c.service_cents).label("service_cents"), func.sum(s.c.vat_cents).label("vat_cents"),
            func.sum(s.c.energy_cents).label("energy_cents"), func.sum(s.c.units_tenths).label("units_tenths")]


def _present(row):
    """Integers for JSON plus display strings under the short column names."""
    out = dict(row)
    for short, long in _MONEY.items():
        if long in out:
            out[long] = int(out[long] or 0)
            out[short] = fmt_cents(out[long])
    if "units_tenths" in out:
        out["units_tenths"] = int(out["units_tenths"] or 0)
        out["units"] = fmt_tenths(out["units_tenths"])
    return out


def daily(conn, start, end):
    s, o = schema.sales, schema.operators
    day = func.date(s.c.sold_at).label("day")
    query = (select(day, s.c.channel, o.c.name.label("operator"), *_money_sums(s))
             .join(o, o.c.id == s.c.operator_id)
             .where(s.c.sold_at >= start, s.c.sold_at < end)
             .group_by(day, s.c.channel, o.c.name).order_by(day, s.c.channel, o.c.name))
    rows = []
    for r in conn.execute(query).mappings():
        r = _present(r)
        r["day"] = str(r["day"])[:10]
        rows.append(r)
    return rows


CHANNEL_COLUMNS = ["channel", "sales", "amount", "debt", "service", "vat", "energy", "units"]


def by_channel(conn, start, end):
    """Statistics by payment channel over [start, end): sales and money per channel."""
    s = schema.sales
    query = (select(s.c.channel, *_money_sums(s)).where(s.c.sold_at >= start, s.c.sold_at < end)
             .group_by(s.c.channel).order_by(s.c.channel))
    return [_present(r) for r in conn.execute(query).mappings()]


SERVICE_CHANGES = schema.SERVICE_CHANGE_ACTIONS


def service_changes(conn, since, limit=50):
    """Recent changes to a customer's service (new meter, key change, tariff revision,
    blocked or unblocked, debt), newest first, from the audit trail."""
    a = schema.audit_log
    return [dict(r) for r in conn.execute(
        select(a.c.at, a.c.operator, a.c.action, a.c.subject, a.c.payload)
        .where(text(schema.SERVICE_CHANGES_WHERE), a.c.at >= since)      # ix_audit_log_service_changes
        .order_by(a.c.at.desc(), a.c.id.desc()).limit(limit)).mappings()]


def _shift_month(year, month, delta):
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def settlement_period(year, month, day):
    """[from, to) of the month-long period from settlement ``day`` whose last day falls in
    year-month: up to ``day`` of that month, or, for day 1, up to the 1st of the next."""
    end = (year, month) if day > 1 else _shift_month(year, month, 1)
    start = _shift_month(*end, -1)
    return datetime.datetime(*start, day), datetime.datetime(*end, day)


def settlement_days(conn):
    """The settlement days in use (day 1, the default, when there are no customers)."""
    c = schema.customers
    return sorted(d for (d,) in conn.execute(select(c.c.settlement_day).distinct())) or [1]


def settlement(conn, year, month):
    s, c, a = schema.sales, schema.customers, schema.adjustments
    days = settlement_days(conn)
    periods = {d: settlement_period(year, month, d) for d in days}
    in_period = or_(*[and_(c.c.settlement_day == d, s.c.sold_at >= lo, s.c.sold_at < hi)
                      for d, (lo, hi) in periods.items()])
    lowest = min(lo for lo, _ in periods.values())
    highest = max(hi for _, hi in periods.values())
    query = (select(s.c.customer_id, *_money_sums(s)).join(c, c.c.id == s.c.customer_id)
             .where(s.c.sold_at >= lowest, s.c.sold_at < highest, in_period)
             .group_by(s.c.customer_id))
    totals = {r["customer_id"]: r for r in conn.execute(query).mappings()}
    refund_in_period = or_(*[and_(c.c.settlement_day == d, a.c.confirmed_at >= lo, a.c.confirmed_at < hi)
                             for d, (lo, hi) in periods.items()])
    refunds = dict(conn.execute(
        select(a.c.customer_id, func.sum(a.c.amount_cents)).join(c, c.c.id == a.c.customer_id)
        .where(a.c.kind == "refund", a.c.status == "confirmed", refund_in_period)
        .group_by(a.c.customer_id)).all())
    wanted = set(totals) | set(refunds)
    rows = []
    if not wanted:
        return rows
    for cust in conn.execute(select(c.c.id, c.c.account, c.c.name, c.c.settlement_day)
                             .order_by(c.c.account)).mappings():
        if cust["id"] not in wanted:
            continue
        t = totals.get(cust["id"], {})
        lo, hi = periods[cust["settlement_day"]]
        row = {"account": cust["account"], "name": cust["name"], "period_from": lo.date().isoformat(),
               "period_to": (hi - datetime.timedelta(days=1)).date().isoformat(), "sales": int(t.get("sales") or 0)}
        for key in ("amount_cents", "debt_cents", "service_cents", "vat_cents", "energy_cents", "units_tenths"):
            row[key] = int(t.get(key) or 0)
        row["refunds_cents"] = int(refunds.get(cust["id"]) or 0)
        row["net_cents"] = row["amount_cents"] - row["refunds_cents"]
        rows.append(_present(row))
    return rows


def meter_history(conn, pan, start, end):
    from host.vending.records import find_meter
    meter = find_meter(conn, pan)
    s, o, t = schema.sales, schema.operators, schema.tokens
    query = (select(s.c.id.label("receipt"), s.c.sold_at, s.c.channel, o.c.name.label("operator"), s.c.amount_cents,
                    s.c.vat_cents, s.c.energy_cents, s.c.units_tenths,
                    select(func.min(t.c.tid)).where(t.c.sale_id == s.c.id, t.c.kind == "credit")
                    .scalar_subquery().label("tid"))
             .join(o, o.c.id == s.c.operator_id)
             .where(s.c.meter_id == meter["id"], s.c.sold_at >= start, s.c.sold_at < end).order_by(s.c.id))
    rows = []
    for r in conn.execute(query).mappings():
        r = _present(r)
        r["sold_at"] = r["sold_at"].isoformat(" ", "seconds")
        rows.append(r)
    return meter["pan"], rows


def write_csv(path, rows, columns):
    """The report as a UTF-8 CSV file; every cell through ``text.csv_cell``."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        put_csv(handle, rows, columns)
    return path


def put_csv(handle, rows, columns):
    """The report's CSV onto an open text stream (a file, or a web page's answer)."""
    writer = csv.writer(handle)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([csv_cell(r.get(col)) for col in columns])


def chart(path, pan, rows):
    """Purchases over time: money per sale (bars) and cumulative units (line)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot
    when = [datetime.datetime.fromisoformat(r["sold_at"]) for r in rows]
    amounts = [r["amount_cents"] / 100 for r in rows]     # display only, never stored
    cumulative, total = [], 0
    for r in rows:
        total += r["units_tenths"]
        cumulative.append(total / 10)
    fig, left = pyplot.subplots(figsize=(8, 4), dpi=100)
    if rows:
        left.bar(when, amounts, width=0.6, color="#4a7ab5", label="amount paid")
        right = left.twinx()
        right.step(when, cumulative, where="post", color="#c0392b", label="units bought (cumulative)")
        right.set_ylabel("units (cumulative)")
    else:
        left.text(0.5, 0.5, "no purchases in this period", ha="center", va="center", transform=left.transAxes)
    left.set_ylabel("amount paid")
    left.set_title("Purchases of meter %s" % pan)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    pyplot.close(fig)
    return path


# Online meters (the head-end's tables) ---------------------------------------------------

def fleet_summary(conn):
    """Counts for the dashboard: meters online/offline, in alarm, disconnected for credit,
    low on balance, and alarms waiting for a person (None when no meter is online yet)."""
    m, a = schema.online_meters, schema.alarms
    status = dict(conn.execute(select(m.c.status, func.count()).group_by(m.c.status)).all())
    if not status:
        return None
    open_alarms = a.c.open_key.isnot(None)

    def meters_with(*kinds):
        query = select(func.count(func.distinct(a.c.pan))).where(open_alarms)
        return conn.execute(query.where(a.c.kind.in_(kinds)) if kinds else query).scalar()
    return {"online": status.get("online", 0), "offline": status.get("offline", 0),
            "unknown": status.get("unknown", 0), "in_alarm": meters_with(),
            "disconnected_for_credit": meters_with("zero_balance_trip"),
            "low_balance": meters_with("low_balance_1", "low_balance_2"),
            "waiting": conn.execute(select(func.count()).where(open_alarms, a.c.state.in_(("raised", "notified"))))
            .scalar()}


READING_COLUMNS = ["time", "energy", "credit", "period_s"]


def daily_use(conn, pan, start, end):
    """Consumption per UTC day of an online meter over [start, end): the rise of its main
    cumulative register (thousandths of its unit) from the day before's last reading, or
    over the day's own readings when the day before has none; ``[(date, use_milli or
    None)]``, None where the meter sent nothing that day."""
    r = schema.readings
    day = func.date(r.c.t)
    seen = {str(d)[:10]: (low, high) for d, low, high in conn.execute(
        select(day, func.min(r.c.energy_milli), func.max(r.c.energy_milli))
        .where(r.c.pan == pan, r.c.t >= start - datetime.timedelta(days=1), r.c.t < end,
               r.c.energy_milli.isnot(None)).group_by(day))}
    out = []
    for k in range((end - start).days):
        d = (start + datetime.timedelta(days=k)).date()
        today, before = seen.get(d.isoformat()), seen.get((d - datetime.timedelta(days=1)).isoformat())
        out.append((d, None if today is None else today[1] - (before[1] if before else today[0])))
    return out


def meter_readings(conn, pan, start, end):
    """An online meter's readings over [start, end), oldest first, as the CSV lists them."""
    r = schema.readings
    rows = []
    for t, energy, credit, period in conn.execute(
            select(r.c.t, r.c.energy_milli, r.c.credit_milli, r.c.period_s)
            .where(r.c.pan == pan, r.c.t >= start, r.c.t < end).order_by(r.c.t)):
        rows.append({"time": t.isoformat(" ", "seconds"), "energy_milli": energy, "credit_milli": credit,
                     "energy": None if energy is None else format_fixed(energy, 3),
                     "credit": None if credit is None else format_fixed(credit, 3), "period_s": period})
    return rows


def days_remaining(credit_milli, daily):
    """Whole days the credit lasts at the average use of the days with readings (of the
    last 7), or None when that cannot be told (no credit figure, or no use seen)."""
    seen = [use for _, use in daily[-7:] if use is not None]
    if credit_milli is None or not seen or sum(seen) <= 0:
        return None
    return max(0, credit_milli) * len(seen) // sum(seen)


def meter_commands(conn, pan, limit=10):
    """An online meter's latest commands, newest first (what was asked, by whom, the result)."""
    k = schema.meter_commands
    return [dict(r) for r in conn.execute(
        select(k.c.id, k.c.cmd, k.c.state, k.c.reason, k.c.requested_by, k.c.requested_at, k.c.result_code,
               k.c.result_at).where(k.c.pan == pan).order_by(k.c.id.desc()).limit(limit)).mappings()]


def online_state(conn, pan):
    """An online meter's last known state (None: the head-end never heard it)."""
    m = schema.online_meters
    row = conn.execute(select(m.c.pan, m.c.status, m.c.status_at, m.c.last_seen, m.c.reading_at, m.c.credit_milli,
                              m.c.supply_state, m.c.supply_reason, m.c.alarm_bits)
                       .where(m.c.pan == pan)).mappings().first()
    return dict(row) if row else None
