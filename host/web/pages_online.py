"""Online meters, over the head-end (``host.headend`` operations in the server's table):
the alarms page (list, filter, acknowledge with a note, clear), and a meter's readings
chart and CSV, state and remote commands (the head-end's own role checks)."""
import datetime
import io
import json
from typing import Annotated

from host.parse import ParseError, date_time, integer
from host.vending import reports
from host.vending.errors import VendError
from host.web.auth import need


def add(app, web):
    from fastapi import Depends, Request
    from fastapi.responses import RedirectResponse, Response
    station = web.station
    clerk = Annotated[dict, Depends(need("operator", "clerk", Depends, Request))]

    def alarms_page(request, user, meter="", state="open", kind="", status=200, error=None, notice=None):
        try:
            rows = web.run(user, "headend_alarms", meter=meter or None, open_only=state == "open", limit=500)
        except VendError as exc:
            rows, error = [], error or str(exc)
        if kind:
            rows = [r for r in rows if r["kind"] == kind]
        for row in rows:
            for key in ("raised_at", "acknowledged_at", "cleared_at"):
                row[key] = web.local(row[key])
        from host.headend.alarms import KINDS
        return web.render(request, "alarms.html", status=status, user=user, rows=rows, meter=meter, state=state,
                          kind=kind, kinds=KINDS, error=error, notice=notice)

    @app.get("/web/alarms")
    def alarms(request: Request, user: clerk, meter: str = "", state: str = "open", kind: str = ""):
        return alarms_page(request, user, meter[:18], state, kind[:24])

    @app.post("/web/alarms/{action}")
    def alarm_action(request: Request, user: clerk, action: str):
        """Acknowledge (a clerk) or clear (a supervisor: the operation's role) with a note."""
        form = user["form"]
        operation = {"ack": "headend_alarm_ack", "clear": "headend_alarm_clear"}.get(action)
        if operation is None:
            return web.render(request, "error.html", status=404, user=user, error="no such page")
        try:
            done = web.run(user, operation, alarm=integer(form.get("alarm"), "alarm", minimum=1),
                           note=form.get("note", "").strip())
        except (ParseError, VendError) as exc:
            return alarms_page(request, user, status=400, error=str(exc))
        return alarms_page(request, user, notice="alarm %d %s" % (done["alarm"], done["state"]))

    @app.post("/web/meters/{pan}/commands")
    def command(request: Request, user: clerk, pan: str):
        """A remote command: ping and read as a clerk, the rest as the head-end's role says."""
        form = user["form"]
        cmd = form.get("cmd", "")
        try:
            if cmd == "read":
                args = form.get("obis", "").split()
            elif cmd == "clock":
                args = [str(int((station.clock() - datetime.datetime(1970, 1, 1)).total_seconds()))]
            elif cmd == "keep-supply" and form.get("until"):
                until = station.to_utc(date_time(form["until"].replace("T", " "), "until", seconds=False))
                args = ["on", str(int((until - datetime.datetime(1970, 1, 1)).total_seconds()))]
            else:
                args = [a for a in [form.get("arg", "")] if a]
            operation = "headend_read" if cmd in ("ping", "read") else "headend_command"
            done = web.run(user, operation, meters=[pan], cmd=cmd, args=args, reason=form.get("reason") or None)
        except (ParseError, VendError) as exc:
            return web.render(request, "error.html", status=400, user=user, error=str(exc))
        return RedirectResponse("/web/meters/%s?queued=%s" % (pan, ",".join(str(c) for c in
                                                                          done.get("commands", []))),
                                status_code=303)

    @app.get("/web/meters/{pan}/readings.csv")
    def readings_csv(request: Request, user: clerk, pan: str, days: str = "366"):
        try:
            span = integer(days, "days", minimum=1, maximum=3660)
        except ParseError as exc:
            return web.render(request, "error.html", status=400, user=user, error=str(exc))
        now = station.clock()
        out = io.StringIO()
        with station.engine.connect() as conn:
            rows = reports.meter_readings(conn, pan, now - datetime.timedelta(days=span), now)
        reports.put_csv(out, rows, reports.READING_COLUMNS)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="readings-%s.csv"' % pan})


def online_view(web, pan, fmt, days=30):
    """What the meter page and the customer's page show of an online meter (None if never heard)."""
    now = web.station.clock()
    today = datetime.datetime.combine(now.date(), datetime.time())
    with web.station.engine.connect() as conn:
        state = reports.online_state(conn, pan)
        if state is None:
            return None
        daily = reports.daily_use(conn, pan, today - datetime.timedelta(days=days - 1),
                                  today + datetime.timedelta(days=1))
        commands = reports.meter_commands(conn, pan)
    for key in ("last_seen", "status_at", "reading_at"):
        state[key] = web.local(state[key])
    for c in commands:
        c["requested_at"], c["result_at"] = web.local(c["requested_at"]), web.local(c["result_at"])
    chart = {"x": list(range(len(daily))), "labels": [fmt.day(d) for d, _ in daily],
             "series": [[fmt.gettext("use per day"), [(u or 0) // 100 for _, u in daily]]]}
    return {"state": state, "daily": daily, "chart": json.dumps(chart), "commands": commands,
            "days_remaining": reports.days_remaining(state["credit_milli"], daily)}

