"""Accounts and meters: open an account with its meter in two pages (the customer, then
the meter), the account's page (debt, self-service password, block or unblock a meter)
and the meter's page (state, purchases, history)."""
import datetime
from typing import Annotated
from urllib.parse import quote

from host.parse import ParseError, integer, money, percent_bp
from host.vending import accounts as account_changes, lookup, office, reports, selfservice
from host.vending.errors import VendError
from host.web.auth import need


def add(app, web):
    from fastapi import Depends, Request
    from fastapi.responses import RedirectResponse
    station = web.station
    clerk = Annotated[dict, Depends(need("operator", "clerk", Depends, Request))]
    supervisor = Annotated[dict, Depends(need("operator", "supervisor", Depends, Request))]

    def tariff_names():
        return sorted({t["name"] for t in office.tariffs(station)})

    @app.get("/web/accounts")
    def accounts(request: Request, user: clerk, q: str = ""):
        with station.engine.connect() as conn:
            found = lookup.find(conn, q[:200]) if q else []
        return web.render(request, "accounts.html", user=user, q=q, found=found, form={})

    @app.post("/web/accounts")
    def open_account(request: Request, user: clerk):
        form = user["form"]
        try:
            added = web.run(user, "customer_add", account=form.get("account", ""), name=form.get("name", ""),
                            address=form.get("address") or None, phone=form.get("phone") or None,
                            contact=form.get("contact") or None, id_number=form.get("id_number") or None,
                            settlement_day=integer(form.get("settlement_day") or "1", "settlement day",
                                                   minimum=1, maximum=28))
        except (ParseError, VendError) as exc:
            return web.render(request, "accounts.html", status=400, user=user, q="", found=[], form=form,
                              error=str(exc))
        return RedirectResponse("/web/accounts/%s?new=1" % quote(added["account"], safe=""), status_code=303)

    def account_page(request, user, account, status=200, error=None, notice=None, meter_form=None):
        try:
            customer = office.customer(station, account)
        except VendError as exc:
            return web.render(request, "error.html", status=404, user=user, error=str(exc))
        with station.engine.connect() as conn:
            has_password = selfservice.has_password(conn, customer["id"])
        return web.render(request, "account.html", status=status, user=user, c=customer, error=error,
                          notice=notice, has_password=has_password, tariffs=tariff_names(),
                          keys=office.vending_keys(station), meter_form=meter_form or {},
                          new=request.query_params.get("new") == "1")

    @app.get("/web/accounts/{account}")
    def account(request: Request, user: clerk, account: str):
        return account_page(request, user, account)

    @app.post("/web/accounts/{account}/meters")
    def add_meter(request: Request, user: supervisor, account: str):
        form = user["form"]
        try:
            key = form.get("key", "")
            sgc, _, krn = key.partition("/")
            web.run(user, "meter_add", meter=form.get("meter", ""), account=account,
                    sgc=integer(sgc, "supply group code"), krn=integer(krn, "key revision", minimum=1, maximum=9),
                    ti=integer(form.get("ti") or "1", "tariff index", maximum=99),
                    kt=integer(form.get("kt") or "2", "key type", maximum=3),
                    algorithm=form.get("algorithm") or "sta",
                    base_date=integer(form.get("base_date") or "2014", "base date", minimum=1993, maximum=2035),
                    utility=form.get("utility") or "electricity", credit_mode=form.get("credit_mode") or "unit",
                    tariff=form.get("tariff", ""))
        except (ParseError, VendError) as exc:
            return account_page(request, user, account, status=400, error=str(exc), meter_form=form)
        return account_page(request, user, account, notice="meter %s added" % form.get("meter", ""))

    @app.post("/web/accounts/{account}/debt")
    def set_debt(request: Request, user: supervisor, account: str):
        form = user["form"]
        try:
            web.run(user, "debt_set", account=account, debt_cents=money(form.get("debt"), "debt"),
                    recovery_bp=percent_bp(form.get("recovery") or "0", "recovery"))
        except (ParseError, VendError) as exc:
            return account_page(request, user, account, status=400, error=str(exc))
        return account_page(request, user, account, notice="debt set")

    @app.post("/web/accounts/{account}/edit")
    def edit(request: Request, user: clerk, account: str):
        form = user["form"]
        try:
            day = form.get("settlement_day")
            done = account_changes.update_customer(
                station, user, account, settlement_day=integer(day, "settlement day", minimum=1, maximum=28)
                if day else None, **{k: form.get(k) for k in account_changes.DETAILS})
        except (ParseError, VendError) as exc:
            return account_page(request, user, account, status=400, error=str(exc))
        return account_page(request, user, account, notice="changed: %s" % (", ".join(done["changed"]) or "nothing"))

    @app.post("/web/meters/{pan}/tariff")
    def meter_tariff(request: Request, user: supervisor, pan: str):
        try:
            done = account_changes.change_tariff(station, user, pan, user["form"].get("tariff", ""))
        except VendError as exc:
            return web.render(request, "error.html", status=400, user=user, error=str(exc))
        return RedirectResponse("/web/meters/%s" % done["meter"], status_code=303)

    @app.post("/web/accounts/{account}/password")
    def set_password(request: Request, user: clerk, account: str):
        try:
            selfservice.set_password(station, user, account, user["form"].get("password", ""))
        except VendError as exc:
            return account_page(request, user, account, status=400, error=str(exc))
        return account_page(request, user, account, notice="self-service password set")

    @app.post("/web/meters/{pan}/status")
    def meter_status(request: Request, user: supervisor, pan: str):
        form = user["form"]
        try:
            done = web.run(user, "meter_status", meter=pan, status=form.get("status", ""))
        except VendError as exc:
            return web.render(request, "error.html", status=400, user=user, error=str(exc))
        return RedirectResponse("/web/meters/%s" % done["meter"], status_code=303)

    @app.get("/web/meters/{pan}")
    def meter(request: Request, user: clerk, pan: str, days: str = "30"):
        try:
            row = office.meter(station, pan)
        except VendError as exc:
            return web.render(request, "error.html", status=404, user=user, error=str(exc))
        now = station.clock()
        with station.engine.connect() as conn:
            _, purchases = reports.meter_history(conn, pan, now - datetime.timedelta(days=366),
                                                 now + datetime.timedelta(seconds=1))
        for p in purchases:
            p["sold_at"] = web.local(datetime.datetime.fromisoformat(p["sold_at"]))
        for h in row["history"]:
            h["from_at"], h["to_at"] = web.local(h["from_at"]), web.local(h["to_at"])
        from host.web.pages_online import online_view
        try:
            span = integer(days, "days", minimum=7, maximum=366)
        except ParseError as exc:
            return web.render(request, "error.html", status=400, user=user, error=str(exc))
        return web.render(request, "meter.html", user=user, m=row, purchases=purchases[::-1],
                          tariffs=tariff_names(),
                          online=online_view(web, row["pan"], web.formats(request), span), days=span)
