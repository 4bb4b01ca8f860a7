"""Payment-provider callbacks: a signed payment vends exactly as a statement line does;
a forged, stale or replayed callback vends nothing; a reference reused for another
amount or account is refused; the customer sees the token on their page."""
import json

import pytest
from sqlalchemy import select

from host.vending import callbacks, schema
from webkit import PROVIDER_SECRET

BOTH_DATABASES = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)

PAN = "600727000000000009"


def payment(reference="MP-0001", account=PAN, amount_cents=2000, **extra):
    body = {"reference": reference, "account": account, "amount_cents": amount_cents,
            "paid_at": "2026-05-04T09:29:00Z", "channel": "mobile"}
    body.update(extra)
    return json.dumps(body).encode()


def send(browser, world, body, secret=PROVIDER_SECRET, at=None, provider="mpesa"):
    stamp = int(at if at is not None else _station_now(world))
    return browser.client.post("/pay/" + provider, content=body, headers={
        "X-Prepay-Timestamp": str(stamp), "X-Prepay-Signature": callbacks.sign(secret, stamp, body),
        "Content-Type": "application/json"})


def _station_now(world):
    import datetime
    return world.clock().replace(tzinfo=datetime.timezone.utc).timestamp()


def sales(world):
    with world.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(schema.sales.c.id, schema.sales.c.reference,
                                                     schema.sales.c.amount_cents, schema.sales.c.channel)).mappings()]


@BOTH_DATABASES
def test_a_signed_callback_vends_once_as_a_statement_line(browser, world):
    answer = send(browser, world, payment())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "vended" and body["meter"] == PAN and len(body["tokens"]) == 1
    assert sales(world) == [{"id": body["receipt"], "reference": "pay:mpesa:MP-0001", "amount_cents": 2000,
                             "channel": "mobile"}]
    with world.engine.connect() as conn:
        row = conn.execute(select(schema.payments)).mappings().one()
        operator = conn.execute(select(schema.audit_log.c.operator).where(schema.audit_log.c.action == "sale")).scalar()
    assert (row["source"], row["line_ref"], row["status"], row["sale_id"]) == ("mpesa", "MP-0001", "vended",
                                                                                 body["receipt"])
    assert operator == "mpesa"
    again = send(browser, world, payment())                    # the provider retries: nothing more is sold
    assert again.status_code == 200 and again.json()["status"] == "skipped"
    assert len(sales(world)) == 1


@BOTH_DATABASES
def test_forged_stale_and_conflicting_callbacks_vend_nothing(browser, world):
    assert send(browser, world, payment(), secret=b"a guessed secret").status_code == 401
    unsigned = browser.client.post("/pay/mpesa", content=payment())
    assert unsigned.status_code == 401
    body = payment()
    stamp = int(_station_now(world))
    tampered = browser.client.post("/pay/mpesa", content=payment(amount_cents=900000), headers={
        "X-Prepay-Timestamp": str(stamp), "X-Prepay-Signature": callbacks.sign(PROVIDER_SECRET, stamp, body)})
    assert tampered.status_code == 401
    stale = send(browser, world, body, at=_station_now(world) - callbacks.WINDOW_S - 60)
    assert stale.status_code == 401 and "clock" in stale.json()["error"]
    assert send(browser, world, body, provider="unknown").status_code == 404
    assert browser.client.post("/pay/mpesa", content=b" " * 20000).status_code == 401
    assert sales(world) == [] and world.count(schema.payments) == 0
    assert send(browser, world, body).json()["status"] == "vended"
    other = send(browser, world, payment(amount_cents=5000))   # same reference, another amount
    assert other.status_code == 409 and "refused" in other.json()["error"]
    for bad in (payment(amount_cents=-100), payment(amount_cents="20.00"), b"not json",
                json.dumps({"reference": "x"}).encode(), payment(channel="barter")):
        assert send(browser, world, bad).status_code == 400
    assert len(sales(world)) == 1


def test_an_unknown_account_is_recorded_not_sold(browser, world):
    answer = send(browser, world, payment(reference="MP-9", account="NOBODY"))
    assert answer.status_code == 200 and answer.json()["status"] == "unmatched"
    assert sales(world) == []


def test_the_customer_sees_the_token_the_callback_vended(browser, world):
    from host.vending import selfservice
    selfservice.set_password(world.station, world.ops["alice"], "A-001", "jane-password")
    browser.login("A-001", "jane-password", path="/my/login", field="account")
    page = browser.post("/my/topup", {"meter": PAN, "amount": "20.00"})
    assert page.status_code == 200 and PAN in page.text and "/my/latest?after=0" in page.text
    assert "Waiting" in browser.get("/my/latest?after=0").text
    token = send(browser, world, payment()).json()["tokens"][0]
    shown = browser.get("/my/latest?after=0").text
    assert token in shown and "20.00" in shown
    assert token in browser.get("/my/").text or "20.00" in browser.get("/my/").text
