"""The operators' pages through their forms: an account opened with its meter in two pages,
a sale with its receipt (print view, PDF, reprint, each reprint audited), a refund
requested by one operator and confirmed by another as in the CLI, block and unblock,
reports with CSV, search by any number or name, and the pages in Simplified Chinese."""
import csv
import io

import pytest
from sqlalchemy import select

from host.vending import schema
from vendworld import pan

BOTH_DATABASES = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)

NEW_PAN = pan(42)


def audit_actions(world):
    with world.engine.connect() as conn:
        return [r for r in conn.execute(select(schema.audit_log.c.operator, schema.audit_log.c.action)
                                        .order_by(schema.audit_log.c.id))]


@BOTH_DATABASES
def test_open_an_account_with_its_meter_sell_and_print(browser, world):
    browser.login("sam", "sam-password")
    opened = browser.post("/web/accounts", {"account": "B-007", "name": "Li Wei", "phone": "+8613800000000",
                                            "settlement_day": "15"})
    assert opened.status_code == 303 and opened.headers["location"] == "/web/accounts/B-007?new=1"
    step2 = browser.get(opened.headers["location"])
    assert "step 2 of 2" in step2.text
    added = browser.post("/web/accounts/B-007/meters", {"meter": NEW_PAN, "tariff": "home", "key": "201457/1",
                                                        "ti": "1", "kt": "2", "algorithm": "sta",
                                                        "base_date": "2014", "utility": "electricity",
                                                        "credit_mode": "unit"})
    assert added.status_code == 200 and "meter %s added" % NEW_PAN in added.text
    found = browser.get("/web/counter?q=%2B8613800000000").text       # by phone
    assert NEW_PAN in found and "Li Wei" in found
    assert NEW_PAN in browser.get("/web/counter?q=li wei").text       # by part of the name
    sold = browser.post("/web/sales", {"meter": NEW_PAN, "amount": "100.00", "channel": "mobile"})
    assert sold.status_code == 200 and "SALE RECEIPT" in sold.text
    with world.engine.connect() as conn:
        receipt = conn.execute(select(schema.sales.c.id)).scalar()
        digits = conn.execute(select(schema.tokens.c.digits).where(schema.tokens.c.sale_id == receipt)).scalar()
    formatted = " ".join(digits[i:i + 4] for i in range(0, 20, 4))
    assert formatted in sold.text
    again = browser.post("/web/receipts/reprint", {"receipt": str(receipt)})
    assert "REPRINT" in again.text and formatted in again.text
    pdf = browser.post("/web/receipts/pdf", {"receipt": str(receipt)})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    actions = audit_actions(world)
    assert ("sam", "customer_add") in actions and ("sam", "meter_add") in actions and ("sam", "sale") in actions
    assert actions.count(("sam", "reprint")) == 2
    bad = browser.post("/web/sales", {"meter": NEW_PAN, "amount": "1e3", "channel": "cash"})
    assert bad.status_code == 400 and "amount" in bad.text


@BOTH_DATABASES
def test_a_refund_is_confirmed_by_another_operator(new_browser, world):
    from host.vending import sales
    sale = sales.sell(world.station, world.ops["alice"], "600727000000000009", 5000, "cash")
    clerk, sam, sue = new_browser(), new_browser(), new_browser()
    clerk.login("alice", "alice-password")
    sam.login("sam", "sam-password")
    sue.login("sue", "sue-password")
    asked = sam.post("/web/adjustments", {"kind": "refund", "receipt": str(sale["receipt"]), "amount": "20.00",
                                          "reason": "meter fault"})
    assert asked.status_code == 200 and "requested" in asked.text
    with world.engine.connect() as conn:
        adj_id = conn.execute(select(schema.adjustments.c.id)).scalar()
    assert clerk.post("/web/adjustments/decide", {"id": str(adj_id), "decision": "confirm"}).status_code == 403
    own = sam.post("/web/adjustments/decide", {"id": str(adj_id), "decision": "confirm"})
    assert own.status_code == 400 and "another supervisor must confirm" in own.text
    assert 'name="decision"' in sue.get("/web/adjustments").text
    done = sue.post("/web/adjustments/decide", {"id": str(adj_id), "decision": "confirm"})
    assert done.status_code == 200 and "confirmed" in done.text
    with world.engine.connect() as conn:
        row = conn.execute(select(schema.adjustments)).mappings().one()
    assert row["status"] == "confirmed" and row["confirmed_by"] == world.ops["sue"]["id"]
    assert ("sue", "adjust_confirm") in audit_actions(world)


def test_block_and_unblock_a_meter(browser, world):
    browser.login("sam", "sam-password")
    pan0 = "600727000000000009"
    assert browser.post("/web/meters/%s/status" % pan0, {"status": "blocked"}).status_code == 303
    assert world.meter(pan0)["status"] == "blocked"
    refused = browser.post("/web/sales", {"meter": pan0, "amount": "10.00", "channel": "cash"})
    assert refused.status_code == 400 and "blocked" in refused.text
    dashboard = browser.get("/web/").text
    assert pan0 in dashboard and "meter blocked or unblocked" in dashboard      # marked: service changed
    assert browser.post("/web/meters/%s/status" % pan0, {"status": "active"}).status_code == 303
    assert world.meter(pan0)["status"] == "active"


def test_reports_and_their_csv(browser, world):
    from host.vending import sales
    sales.sell(world.station, world.ops["alice"], "600727000000000009", 1000, "cash")
    sales.sell(world.station, world.ops["bob"], "600727000000000009", 2500, "card")
    browser.login("alice", "alice-password")
    page = browser.get("/web/reports?start=2026-05-01&end=2026-05-31&month=2026-05")
    assert page.status_code == 200 and 'id="sales-chart"' in page.text and "25.00" in page.text
    rows = list(csv.DictReader(io.StringIO(browser.get(
        "/web/reports/channels.csv?start=2026-05-01&end=2026-05-31").text)))
    assert {(r["channel"], r["amount"]) for r in rows} == {("cash", "10.00"), ("card", "25.00")}
    daily = list(csv.DictReader(io.StringIO(browser.get("/web/reports/daily.csv?start=2026-05-04&end=2026-05-04").text)))
    assert {(r["operator"], r["sales"]) for r in daily} == {("alice", "1"), ("bob", "1")}
    settlement = browser.get("/web/reports/settlement.csv?month=2026-05").text
    assert "A-001" in settlement and "35.00" in settlement
    assert browser.get("/web/reports?start=2026-13-01").status_code == 400


def test_pages_in_simplified_chinese(browser, world):
    from host.vending import sales
    sales.sell(world.station, world.ops["alice"], "600727000000000009", 123456, "cash")
    browser.login("alice", "alice-password")
    switched = browser.get("/web/lang/zh_Hans_CN?back=/web/")
    assert switched.status_code == 303 and switched.headers["location"] == "/web/"
    page = browser.get("/web/").text
    assert "今日各渠道售电" in page and "1,234.56" in page and "现金" in page
    assert "2026年5月4日" in browser.get("/web/meters/600727000000000009").text
    assert browser.get("/web/lang/en?back=https://evil.example/").headers["location"] == "/web/"


def test_edit_details_settlement_day_and_tariff(new_browser, world):
    from host.vending import office
    office.add_tariff(world.station, world.ops["sam"], "business", {"blocks": [(None, 300000)], "vat_bp": 1600})
    clerk, sam = new_browser(), new_browser()
    clerk.login("alice", "alice-password")
    sam.login("sam", "sam-password")
    form = {"name": "Jane Doe-Smith", "address": "12 Mill Road", "phone": "+254700000000", "contact_person": "",
            "id_number": "", "settlement_day": "1"}
    done = clerk.post("/web/accounts/A-001/edit", form)
    assert done.status_code == 200 and "changed: name, address" in done.text
    assert clerk.post("/web/accounts/A-001/edit", dict(form, settlement_day="15")).status_code == 400   # a supervisor's
    assert sam.post("/web/accounts/A-001/edit", dict(form, settlement_day="15")).status_code == 200
    assert clerk.post("/web/meters/600727000000000009/tariff", {"tariff": "business"}).status_code == 403
    assert sam.post("/web/meters/600727000000000009/tariff", {"tariff": "business"}).status_code == 303
    with world.engine.connect() as conn:
        customer = conn.execute(select(schema.customers).where(schema.customers.c.account == "A-001")).mappings().one()
        entries = conn.execute(select(schema.audit_log.c.operator, schema.audit_log.c.action, schema.audit_log.c.payload)
                               .where(schema.audit_log.c.action.in_(("customer_edit", "meter_tariff")))).all()
    assert (customer["name"], customer["address"], customer["settlement_day"]) == ("Jane Doe-Smith", "12 Mill Road", 15)
    assert [(o, a) for o, a, _ in entries] == [("alice", "customer_edit"), ("sam", "customer_edit"), ("sam", "meter_tariff")]
    assert "business" in sam.get("/web/meters/600727000000000009").text
    assert "meter&#39;s tariff changed" in sam.get("/web/").text
    problems, _ = office.verify_audit(world.station)
    assert problems == []
