"""The console over the head-end: readings and alarms stored by the head-end's own ingest
(host.headend.store, from the fleet simulator's contract-true readings) show on the
dashboard, the alarms page (filter, acknowledge with a note, clear), the meter's page
(use per day, readings CSV, remote commands with the head-end's roles) and the
customer's page (balance, days remaining)."""
import csv
import datetime
import io

import pytest
from sqlalchemy import select

from host.headend import store
from host.headend.fleet import SimMeter
from host.vending import schema

BOTH_DATABASES = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)

PAN = "600727000000000009"


def feed(world, days=3, credit_milli=30000, power_w=500):
    """A meter reporting every hour for ``days`` days up to the world's clock, through the
    head-end's ingest; 12 kWh a day at 500 W, so its credit runs low."""
    start = world.clock() - datetime.timedelta(days=days)
    now = {"t": start}
    meter = SimMeter(PAN, b"k" * 32, credit_milli=credit_milli, power_w=power_w,
                     clock=lambda: (now["t"] - datetime.datetime(1970, 1, 1)).total_seconds())
    meter.last_purchase_milli = 60000
    batch = store.Batch()
    for hour in range(days * 24):
        now["t"] = start + datetime.timedelta(hours=hour)
        meter.advance(3600)
        batch.add("prepay/%s/reading" % PAN, meter.reading(3600), now["t"])
    batch.add("prepay/%s/status" % PAN, b"online", now["t"])
    with world.station.begin() as conn:
        store.store(conn, batch, world.clock())
    return meter


@BOTH_DATABASES
def test_dashboard_alarms_and_their_life_cycle(world, new_browser):
    feed(world)
    clerk, sam = new_browser(), new_browser()
    clerk.login("alice", "alice-password")
    sam.login("sam", "sam-password")
    dashboard = clerk.get("/web/").text
    assert 'id="fleet"' in dashboard
    with world.engine.connect() as conn:
        alarms = conn.execute(select(schema.alarms.c.id, schema.alarms.c.kind)
                              .where(schema.alarms.c.open_key.isnot(None))).all()
    kinds = {kind for _, kind in alarms}
    assert {"low_balance_1", "low_balance_2"} <= kinds, kinds
    listed = clerk.get("/web/alarms?kind=low_balance_2").text
    low2 = [i for i, k in alarms if k == "low_balance_2"][0]
    assert 'id="alarm-%d"' % low2 in listed and "low_balance_1</td>" not in listed
    assert clerk.post("/web/alarms/ack", {"alarm": str(low2), "note": ""}).status_code == 400
    acked = clerk.post("/web/alarms/ack", {"alarm": str(low2), "note": "customer called, buying today"})
    assert acked.status_code == 200 and "acknowledged" in acked.text
    assert clerk.post("/web/alarms/clear", {"alarm": str(low2), "note": "x"}).status_code == 403
    cleared = sam.post("/web/alarms/clear", {"alarm": str(low2), "note": "paid"})
    assert cleared.status_code == 200 and "cleared" in cleared.text
    with world.engine.connect() as conn:
        row = conn.execute(select(schema.alarms).where(schema.alarms.c.id == low2)).mappings().one()
        actions = [a for (a,) in conn.execute(select(schema.audit_log.c.action))]
    assert (row["state"], row["acknowledged_by"], row["note"]) == ("cleared", "alice",
                                                                   "customer called, buying today")
    assert "alarm_ack" in actions and "alarm_clear" in actions
    assert 'id="alarm-%d"' % low2 not in clerk.get("/web/alarms").text          # open ones only
    assert 'id="alarm-%d"' % low2 in clerk.get("/web/alarms?state=all").text


def test_meter_page_readings_and_commands(world, new_browser):
    feed(world)
    clerk, sam = new_browser(), new_browser()
    clerk.login("alice", "alice-password")
    sam.login("sam", "sam-password")
    page = clerk.get("/web/meters/%s" % PAN).text
    assert 'id="online"' in page and 'id="use-chart"' in page and "Days remaining" in page
    rows = list(csv.DictReader(io.StringIO(clerk.get("/web/meters/%s/readings.csv" % PAN).text)))
    assert len(rows) == 72 and rows[-1]["energy"] == "30.000"        # the credit ran out at 30 kWh
    read = clerk.post("/web/meters/%s/commands" % PAN, {"cmd": "read", "obis": "1-0:1.8.0 0-0:19.0.0"})
    assert read.status_code == 303
    assert clerk.post("/web/meters/%s/commands" % PAN, {"cmd": "supply", "arg": "off",
                                                       "reason": "test"}).status_code == 403
    assert sam.post("/web/meters/%s/commands" % PAN, {"cmd": "supply", "arg": "off"}).status_code == 400
    off = sam.post("/web/meters/%s/commands" % PAN, {"cmd": "supply", "arg": "off", "reason": "unpaid bill"})
    assert off.status_code == 303
    with world.engine.connect() as conn:
        commands = conn.execute(select(schema.meter_commands.c.cmd, schema.meter_commands.c.requested_by)
                                .order_by(schema.meter_commands.c.id)).all()
    assert [tuple(c) for c in commands] == [("read", "alice"), ("supply", "sam")]


def test_customer_sees_balance_and_days_remaining(world, new_browser):
    from host.vending import selfservice
    feed(world, credit_milli=40000)         # 36 kWh used in 3 days: 4 kWh left, 12 a day
    selfservice.set_password(world.station, world.ops["alice"], "A-001", "jane-password")
    customer = new_browser()
    customer.login("A-001", "jane-password", path="/my/login", field="account")
    page = customer.get("/my/").text
    assert "Balance" in page and "<strong>4.000</strong>" in page
    assert "days remaining: <strong>0</strong>" in page


def test_use_per_day_from_the_cumulative_register(world):
    from host.vending import reports
    feed(world)          # hourly from 2026-05-01 09:30 (0.5 kWh each) until the credit ran out at 30 kWh
    start = datetime.datetime(2026, 5, 1)
    with world.engine.connect() as conn:
        daily = reports.daily_use(conn, PAN, start, start + datetime.timedelta(days=5))
    assert daily == [(datetime.date(2026, 5, 1), 7000),        # its own readings: 0.5 .. 7.5 kWh
                     (datetime.date(2026, 5, 2), 12000), (datetime.date(2026, 5, 3), 10500),
                     (datetime.date(2026, 5, 4), 0), (datetime.date(2026, 5, 5), None)]
    assert reports.days_remaining(4000, daily[:4]) == 4000 * 4 // 29500
    assert reports.days_remaining(None, daily) is None and reports.days_remaining(100, [(None, None)]) is None


def test_the_token_sent_to_an_online_meter_is_followed_on_both_pages(world, new_browser):
    from host.headend import delivery
    from host.vending import sales, selfservice
    feed(world)                                            # the meter is online
    delivery.deliver_new_sales(world.station, world.clock())          # the head-end's cursor starts here
    sale = sales.sell(world.station, world.ops["alice"], PAN, 2000, "mobile")
    selfservice.set_password(world.station, world.ops["alice"], "A-001", "jane-password")
    customer, clerk = new_browser(), new_browser()
    customer.login("A-001", "jane-password", path="/my/login", field="account")
    clerk.login("alice", "alice-password")
    waiting = customer.get("/my/delivery/%d" % sale["receipt"]).text
    assert "pending" in waiting and 'hx-get="/my/delivery/%d"' % sale["receipt"] in waiting
    assert delivery.deliver_new_sales(world.station, world.clock()) == 1      # a signed token command
    queued = customer.get("/my/delivery/%d" % sale["receipt"]).text
    assert "queued" in queued and "hx-get" in queued
    assert "Sent to the meter (credit): queued" in clerk.post("/web/receipts/reprint",
                                                              {"receipt": str(sale["receipt"])}).text
    from host.vending import office
    from vendworld import pan
    office.add_customer(world.station, world.ops["alice"], "B-002", "John Roe")
    office.add_meter(world.station, world.ops["sam"], pan(5), "B-002", 201457, 1, 1, 2, "sta", 2014,
                     "electricity", "home")
    other = sales.sell(world.station, world.ops["alice"], pan(5), 1000, "cash")
    assert customer.get("/my/delivery/%d" % other["receipt"]).status_code == 404     # not theirs
    assert customer.get("/my/receipts/%d" % other["receipt"]).status_code == 404
