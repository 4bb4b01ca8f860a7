"""Customers' self-service (phone-sized pages): log in with the account number and the
password the counter gave them, see balance of purchases, a daily chart, purchase history
with receipts and tokens, and top up: the page says how to pay through the provider, and
the token appears the moment the provider's signed callback has vended it.

The callback itself (``POST /pay/{provider}``) is ``host.vending.callbacks``."""
import json
from typing import Annotated

from host.parse import ParseError, integer
from host.vending import callbacks, selfservice
from host.vending.errors import VendError
from host.vending.receipts import lines as receipt_lines
from host.web.auth import CUSTOMER_COOKIE, form_data, need

MAX_CALLBACK_BYTES = 16384
UNSETTLED = ("pending", "queued", "sent")      # a token command's delivery still under way


def add(app, web):
    from fastapi import Depends, Request
    from fastapi.responses import JSONResponse
    station = web.station
    customer = Annotated[dict, Depends(need("customer", None, Depends, Request))]

    @app.get("/my/login")
    def login_page(request: Request):
        return web.login_form(request, "my_login.html")

    @app.post("/my/login")
    def login(request: Request, form: Annotated[dict, Depends(form_data)]):
        def authenticate(form, address):
            return selfservice.login(station, form.get("account", ""), form.get("password", ""), address)
        return web.log_in(request, form, "my_login.html", authenticate, "customer", CUSTOMER_COOKIE, "/my/")

    @app.post("/my/logout")
    def logout(user: customer):
        return web.log_out("customer", user["id"], CUSTOMER_COOKIE, "/my/login")

    def home_page(request, user, status=200, topup=None, error=None):
        data = selfservice.overview(station, user["id"])
        for p in data["purchases"]:
            p["sold_at"] = web.local(p["sold_at"])
        fmt = web.formats(request)
        days = data["daily_units_tenths"]
        chart = {"x": list(range(len(days))), "labels": [fmt.day(d) for d, _ in days],
                 "series": [[fmt.gettext("units bought"), [v for _, v in days]]]}
        from host.web.pages_online import online_view
        online = [(m["pan"], online_view(web, m["pan"], fmt)) for m in data["meters"] if m["status"] == "active"]
        online = [(pan, view) for pan, view in online if view is not None]
        return web.render(request, "my_home.html", status=status, user=user, d=data, chart=json.dumps(chart),
                          online=online,
                          topup=topup, providers=sorted(web.providers), latest=selfservice.latest_receipt(
                              station, user["id"]) or 0, error=error)

    @app.get("/my/")
    def home(request: Request, user: customer):
        return home_page(request, user)

    @app.post("/my/topup")
    def topup(request: Request, user: customer):
        """How to pay: the amount, the provider and the reference to pay to (the meter)."""
        from host.parse import money
        form = user["form"]
        data = selfservice.overview(station, user["id"])
        meters = [m["pan"] for m in data["meters"] if m["status"] == "active"]
        try:
            amount_cents = money(form.get("amount"), "amount")
            if amount_cents <= 0:
                raise ParseError("the amount must be more than zero")
            if form.get("meter") not in meters:
                raise ParseError("choose one of your active meters")
        except ParseError as exc:
            return home_page(request, user, status=400, error=str(exc))
        return home_page(request, user, topup={"amount_cents": amount_cents, "meter": form["meter"]})

    @app.get("/my/latest")
    def latest(request: Request, user: customer, after: str = "0"):
        """The newest purchase's receipt once there is one newer than ``after`` (htmx polls it)."""
        try:
            after_id = integer(after, "receipt")
        except ParseError:
            after_id = 0
        newest = selfservice.latest_receipt(station, user["id"]) or 0
        if newest <= after_id:
            return web.render(request, "my_waiting.html", user=user, after=after_id)
        receipt = selfservice.receipt(station, user["id"], newest)
        return web.render(request, "my_receipt_part.html", user=user, r=receipt)

    @app.get("/my/delivery/{number}")
    def my_delivery(request: Request, user: customer, number: str):
        """How the purchase's token went to an online meter (htmx polls it until it is settled)."""
        from host.headend import delivery
        try:
            receipt = selfservice.receipt(station, user["id"], integer(number, "receipt", minimum=1))
            tokens = delivery.sale_delivery(station.engine, receipt["receipt"])["tokens"]
        except (ParseError, VendError) as exc:
            return web.render(request, "error.html", status=404, user=user, error=str(exc))
        return web.render(request, "delivery_part.html", user=user, receipt=receipt["receipt"], tokens=tokens,
                          poll=any(t["delivery"] in UNSETTLED for t in tokens))

    @app.get("/my/receipts/{number}")
    def my_receipt(request: Request, user: customer, number: str):
        try:
            receipt = selfservice.receipt(station, user["id"], integer(number, "receipt", minimum=1))
        except (ParseError, VendError) as exc:
            return web.render(request, "error.html", status=404, user=user, error=str(exc))
        return web.render(request, "my_receipt.html", user=user, r=receipt, lines=receipt_lines(receipt))

    async def callback_body(request: Request):
        """The body, at most ``MAX_CALLBACK_BYTES`` (a payment notice is a few hundred)."""
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_CALLBACK_BYTES:
                raise callbacks.Forged("the body is larger than any payment notice")
        return body

    def provider_signed(provider: str, request: Request, body: Annotated[bytes, Depends(callback_body)]):
        return provider, body
    provider_signed.role = "provider"

    @app.post("/pay/{provider}")
    def payment_callback(request: Request, signed: Annotated[tuple, Depends(provider_signed)]):
        name, body = signed
        found = web.providers.get(name)
        if found is None:
            return JSONResponse({"error": "unknown provider"}, status_code=404)
        try:
            status, entry = callbacks.receive(station, found, request.headers.get("x-prepay-timestamp"),
                                              request.headers.get("x-prepay-signature"), body)
        except callbacks.Forged as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        except VendError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409 if "vended before" in str(exc) else 400)
        answer = {"status": status, "reference": entry["reference"]}
        for key in ("receipt", "note", "meter", "tokens"):
            if key in entry:
                answer[key] = entry[key]
        return JSONResponse(answer)
