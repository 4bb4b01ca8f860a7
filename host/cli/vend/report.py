"""``prepay vend report``: sales, settlement and meter history reports."""

import datetime

from host.errors import UserError
from host.parse import month as parse_month
from host.cli.vend.common import common, desk, parse_date, table, wrap


def _report(vend):
    p = vend.add_parser("report", help="sales, settlement and meter history reports")
    s = p.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    d = common(s.add_parser("daily", help="daily sales by channel and operator"))
    _range(d)
    d.set_defaults(run=wrap(_run_report_daily))
    m = common(s.add_parser("settlement", help="monthly settlement per customer on their settlement day"))
    m.add_argument("--month", required=True, help="YYYY-MM: each customer's settlement period that ends in "
                                                  "that month (day 1: the calendar month)")
    m.add_argument("--csv", metavar="PATH", help="also write CSV")
    m.set_defaults(run=wrap(_run_report_settlement))
    h = common(s.add_parser("meter", help="purchase history of one meter"))
    h.add_argument("--meter", required=True)
    _range(h)
    h.add_argument("--chart", metavar="PNG", help="also draw the purchases over time")
    h.set_defaults(run=wrap(_run_report_meter))


def _range(p):
    p.add_argument("--from", dest="date_from", metavar="DATE", help="first day (UTC), default 30 days ago")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="last day included (UTC), default today")
    p.add_argument("--csv", metavar="PATH", help="also write CSV")


def _dates(args):
    from host.vending.station import utc_now
    to = parse_date(args.date_to, "--to") if args.date_to else datetime.datetime.combine(utc_now().date(),
                                                                                     datetime.time())
    start = parse_date(args.date_from, "--from") if args.date_from else to - datetime.timedelta(days=30)
    if start > to:
        raise UserError("--from is after --to")
    return start, to + datetime.timedelta(days=1)


def _report_out(args, rows, columns, title):
    """The rows, and as text the title (always saying which dates it covers) and the table."""
    from host.vending import reports
    if args.csv:
        reports.write_csv(args.csv, rows, columns)
    return rows, title + "\n" + table(rows, columns)


def _days(start, end):
    return "%s to %s" % (start.date(), (end - datetime.timedelta(days=1)).date())


def _run_report_daily(args):
    from host.vending import reports
    start, end = _dates(args)
    rows = desk(args).call("report_daily", start=start, end=end)
    return _report_out(args, rows, reports.DAILY_COLUMNS, "daily sales, %s (UTC days)" % _days(start, end))


def _run_report_settlement(args):
    from host.vending import reports
    year, month = parse_month(args.month, "--month")
    found = desk(args).call("report_settlement", year=year, month=month)
    rows, days = found["rows"], found["days"]
    covered = "; ".join("day %d covers %s" % (d, _days(*reports.settlement_period(year, month, d))) for d in days)
    return _report_out(args, rows, reports.SETTLEMENT_COLUMNS,
                       "settlement periods ending in %04d-%02d (UTC days): %s" % (year, month, covered))


def _run_report_meter(args):
    from host.vending import reports
    start, end = _dates(args)
    found = desk(args).call("report_meter", meter=args.meter, start=start, end=end)
    pan, rows = found["meter"], found["rows"]
    if args.chart:
        reports.chart(args.chart, pan, rows)
    return _report_out(args, rows, reports.METER_COLUMNS,
                       "purchases of meter %s, %s (UTC days)" % (pan, _days(start, end)))


def register(vend):
    _report(vend)
