"""Operators' login, the dashboard, the vending counter (find, sell, receipts) and
refunds and adjustments under dual confirmation, as ``prepay vend adjust`` has them."""
import datetime
from typing import Annotated

from host.parse import ParseError, integer, money
from host.vending import lookup, office, reports
from host.vending.errors import VendError
from host.vending.receipts import lines as receipt_lines, pdf_bytes
from host.vending.records import CHANNELS
from host.web.auth import OPERATOR_COOKIE, form_data, need


def add(app, web):
    from fastapi import Depends, Request
    from fastapi.responses import Response
    station = web.station
    clerk = Annotated[dict, Depends(need("operator", "clerk", Depends, Request))]
    supervisor = Annotated[dict, Depends(need("operator", "supervisor", Depends, Request))]

    @app.get("/web/login")
    def login_page(request: Request):
        return web.login_form(request, "login.html")

    @app.post("/web/login")
    def login(request: Request, form: Annotated[dict, Depends(form_data)]):
        def authenticate(form, address):
            return office.login(station, form.get("operator", ""), form.get("password", ""), address=address)
        return web.log_in(request, form, "login.html", authenticate, "operator", OPERATOR_COOKIE, "/web/")

    @app.post("/web/logout")
    def logout(user: clerk):
        return web.log_out("operator", user["id"], OPERATOR_COOKIE, "/web/login")

    @app.get("/web/")
    def dashboard(request: Request, user: clerk):
        now = station.clock()
        local_midnight = station.local(now).replace(hour=0, minute=0, second=0, microsecond=0)
        start = station.to_utc(local_midnight)
        with station.engine.connect() as conn:
            channels = reports.by_channel(conn, start, now + datetime.timedelta(seconds=1))
            changes = reports.service_changes(conn, now - datetime.timedelta(days=7))
            fleet = reports.fleet_summary(conn)
        for change in changes:
            change["at"] = web.local(change["at"])
        pending = office.adjustment_list(station, pending_only=True)
        return web.render(request, "dashboard.html", user=user, channels=channels, changes=changes,
                          pending=pending, day=local_midnight.date(), fleet=fleet)

    @app.get("/web/counter")
    def counter(request: Request, user: clerk, q: str = ""):
        with station.engine.connect() as conn:
            found = lookup.find(conn, q[:200])
        return web.render(request, "counter.html", user=user, q=q, found=found, channels=CHANNELS)

    @app.post("/web/sales")
    def sell(request: Request, user: clerk):
        form = user["form"]
        try:
            amount_cents = money(form.get("amount"), "amount")
            sale = web.run(user, "sell", meter=form.get("meter", ""), amount_cents=amount_cents,
                           channel=form.get("channel", ""), reference=form.get("reference") or None)
        except (ParseError, VendError) as exc:
            with station.engine.connect() as conn:
                found = lookup.find(conn, form.get("meter", ""))
            return web.render(request, "counter.html", status=400, user=user, q=form.get("meter", ""),
                              found=found, channels=CHANNELS, error=str(exc))
        return _receipt_page(request, user, sale)

    def _receipt_page(request, user, receipt):
        delivered = web.run(user, "headend_delivery", receipt=receipt["receipt"])["tokens"]
        return web.render(request, "receipt.html", user=user, r=receipt, lines=receipt_lines(receipt),
                          delivered=delivered)

    def _sale_id(form):
        return integer(form.get("receipt"), "receipt", minimum=1)

    @app.post("/web/receipts/reprint")
    def reprint(request: Request, user: clerk):
        try:
            receipt = web.run(user, "reprint", receipt=_sale_id(user["form"]))
        except (ParseError, VendError) as exc:
            return web.render(request, "error.html", status=400, user=user, error=str(exc))
        return _receipt_page(request, user, receipt)

    @app.post("/web/receipts/pdf")
    def receipt_pdf(request: Request, user: clerk):
        try:
            receipt = web.run(user, "reprint", receipt=_sale_id(user["form"]))
        except (ParseError, VendError) as exc:
            return web.render(request, "error.html", status=400, user=user, error=str(exc))
        return Response(pdf_bytes(receipt), media_type="application/pdf", headers={
            "Content-Disposition": 'attachment; filename="receipt-%d.pdf"' % receipt["receipt"],
            "Cache-Control": "no-store"})

    @app.get("/web/adjustments")
    def adjustments(request: Request, user: clerk):
        return _adjustments_again(request, user, None)

    @app.post("/web/adjustments")
    def adjust_request(request: Request, user: clerk):
        form = user["form"]
        kind = form.get("kind", "")
        try:
            params = {"kind": kind, "reason": form.get("reason", "")}
            if kind == "refund":
                params.update(receipt=integer(form.get("receipt"), "receipt", minimum=1),
                              amount_cents=money(form.get("amount"), "amount"))
            elif kind == "offset":
                params.update(account=form.get("account", ""), amount_cents=money(form.get("amount"), "amount",
                                                                                  negative=True))
            elif kind == "credit":
                params.update(meter=form.get("meter", ""),
                              units_tenths=_tenths(form.get("units")))
            result = web.run(user, "adjust_request", **params)
        except (ParseError, VendError) as exc:
            return _adjustments_again(request, user, str(exc))
        return _adjustments_again(request, user, None, notice="adjustment %d requested: another supervisor "
                                                              "confirms it" % result["id"])

    @app.post("/web/adjustments/decide")
    def adjust_decide(request: Request, user: supervisor):
        form = user["form"]
        try:
            result = web.run(user, "adjust_decide", id=integer(form.get("id"), "adjustment", minimum=1),
                             confirm=form.get("decision") == "confirm")
        except (ParseError, VendError) as exc:
            return _adjustments_again(request, user, str(exc))
        notice = "adjustment %d %s" % (result["id"], result["status"])
        if result.get("token"):
            notice += "; token %s for meter %s" % (result["token"]["digits"], result["token"]["meter"])
        return _adjustments_again(request, user, None, notice=notice)

    def _adjustments_again(request, user, error, notice=None):
        """The adjustments, newest first, with the outcome of what was just asked."""
        rows = office.adjustment_list(station)
        for row in rows:
            row["requested_at"], row["confirmed_at"] = web.local(row["requested_at"]), web.local(row["confirmed_at"])
        return web.render(request, "adjustments.html", status=400 if error else 200, user=user, rows=rows[::-1],
                          error=error, notice=notice)


def _tenths(text):
    from host.parse import fixed
    return fixed(text, 1, "units")
