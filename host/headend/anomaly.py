"""Consumption anomalies: a meter whose use over the last day drops far below its own
daily average of the weeks before while its supply is on (as theft shows in seed 004's
audit). Two grouped queries over the readings (partition-pruned by time on PostgreSQL),
then raise or clear per meter."""
import datetime

from sqlalchemy import and_, func, select

from host.vending import schema
from host.headend import alarms

R, M = schema.readings, schema.online_meters


def _use(conn, start, end):
    """{pan: (energy used in thousandths, seconds covered)} between two times."""
    rows = conn.execute(select(R.c.pan, func.max(R.c.energy_milli) - func.min(R.c.energy_milli),
                               func.min(R.c.t), func.max(R.c.t))
                        .where(and_(R.c.t >= start, R.c.t < end, R.c.energy_milli.isnot(None)))
                        .group_by(R.c.pan)).all()
    return {pan: (used, (last - first).total_seconds()) for pan, used, first, last in rows if used is not None}


def check(conn, now, ratio_percent=20, history_days=14, min_history_days=7, window_h=24):
    """Raise for meters below ``ratio_percent`` of their history's rate, clear for those back
    above twice that; returns the pans raised."""
    window = datetime.timedelta(hours=window_h)
    recent = _use(conn, now - window, now)
    history = _use(conn, now - window - datetime.timedelta(days=history_days), now - window)
    supply_on = set(conn.execute(select(M.c.pan).where(M.c.supply_state == 1)).scalars())
    raised = []
    for pan, (used, span_s) in recent.items():
        past = history.get(pan)
        if not past or past[1] < min_history_days * 86400 or past[0] <= 0 or span_s < window.total_seconds() / 2:
            continue
        expected = past[0] * span_s // past[1]            # the history's rate over the same span
        if pan in supply_on and used * 100 < expected * ratio_percent:
            detail = {"used_milli": used, "expected_milli": expected, "hours": round(span_s / 3600)}
            if alarms.raise_alarm(conn, pan, "consumption_anomaly", detail, now):
                raised.append(pan)
        elif used * 100 >= expected * ratio_percent * 2:
            alarms.clear(conn, pan, "consumption_anomaly", "use is back near its history", now)
    return raised
