"""Reports: daily sales by channel and operator, statistics by payment channel and the
monthly settlement, each with a chart and its CSV (``host.vending.reports``)."""
import datetime
import io
import json
from typing import Annotated

from host.parse import ParseError, date as parse_date, month as parse_month
from host.vending import reports
from host.web.auth import need

KINDS = {"daily": reports.DAILY_COLUMNS, "channels": reports.CHANNEL_COLUMNS,
         "settlement": reports.SETTLEMENT_COLUMNS}


def add(app, web):
    from fastapi import Depends, Request
    from fastapi.responses import Response
    station = web.station
    clerk = Annotated[dict, Depends(need("operator", "clerk", Depends, Request))]

    def period(start, end, month):
        """([start, end) as UTC datetimes of local days, (year, month)) from the query."""
        today = station.local(station.clock()).date()
        first = parse_date(start, "from") if start else today - datetime.timedelta(days=29)
        last = parse_date(end, "to") if end else today
        if last < first:
            raise ParseError("the period ends (%s) before it starts (%s)" % (last, first))
        year_month = parse_month(month, "month") if month else (today.year, today.month)
        lo = station.to_utc(datetime.datetime.combine(first, datetime.time()))
        hi = station.to_utc(datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time()))
        return first, last, lo, hi, year_month

    def rows_of(kind, lo, hi, year_month):
        with station.engine.connect() as conn:
            if kind == "daily":
                return reports.daily(conn, lo, hi)
            if kind == "channels":
                return reports.by_channel(conn, lo, hi)
            return reports.settlement(conn, *year_month)

    @app.get("/web/reports")
    def report_page(request: Request, user: clerk, start: str = "", end: str = "", month: str = ""):
        try:
            first, last, lo, hi, year_month = period(start, end, month)
        except ParseError as exc:
            return web.render(request, "error.html", status=400, user=user, error=str(exc))
        daily, channels, settlement = (rows_of(k, lo, hi, year_month) for k in ("daily", "channels", "settlement"))
        return web.render(request, "reports.html", user=user, first=first, last=last,
                          month="%04d-%02d" % year_month, daily=daily, channels=channels, settlement=settlement,
                          chart=json.dumps(_chart(daily, first, last)))

    @app.get("/web/reports/{kind}.csv")
    def report_csv(request: Request, user: clerk, kind: str, start: str = "", end: str = "", month: str = ""):
        if kind not in KINDS:
            return web.render(request, "error.html", status=404, user=user, error="no such report")
        try:
            first, last, lo, hi, year_month = period(start, end, month)
        except ParseError as exc:
            return web.render(request, "error.html", status=400, user=user, error=str(exc))
        out = io.StringIO()
        reports.put_csv(out, rows_of(kind, lo, hi, year_month), KINDS[kind])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="%s-%s-%s.csv"' % (kind, first, last)})


def _chart(daily, first, last):
    """uPlot's data: days (Unix seconds) and the amount per channel per day, in cents."""
    days = [first + datetime.timedelta(days=k) for k in range((last - first).days + 1)]
    index = {d.isoformat(): i for i, d in enumerate(days)}
    series = {}
    for row in daily:
        values = series.setdefault(row["channel"], [0] * len(days))
        if row["day"] in index:
            values[index[row["day"]]] += row["amount_cents"]
    stamps = [int(datetime.datetime.combine(d, datetime.time(), datetime.timezone.utc).timestamp()) for d in days]
    return {"x": stamps, "series": sorted(series.items())}
