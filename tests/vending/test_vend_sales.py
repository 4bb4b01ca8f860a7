"""End-to-end sales on SQLite and PostgreSQL: every token decodes, with the meter's key
derived independently, to what the tariff computation says; TIDs only grow; the sale and
its tokens commit together or not at all."""
import datetime

import pytest
from sqlalchemy import event, select, update

from host.vending import audit, mgmt, records, sales, schema
from host.vending.errors import VendError
from tokens import amount, sts
from vendworld import pan


def _decode(world, p, digits):
    m = world.meter(p)
    return sts.decode(digits, world.decoder_key(p), m["algorithm"])


def test_sale_token_decodes_to_computed_units(world):
    p = world.pans[0]
    r = sales.sell(world.station, world.ops["alice"], p, 10000, "cash")
    # 100.00 incl. 16 % VAT: 86.20 buys 344.8 kWh at 0.25
    assert r["deductions"]["vat_cents"] == 1380 and r["energy_cents"] == 8620
    assert r["units_tenths"] == 3448
    (token,) = r["tokens"]
    decoded = _decode(world, p, token["digits"])
    assert decoded.token_class == 0 and decoded.subclass == 0
    assert decoded.value == r["units_credited_tenths"] == amount.encode_units(3448)[1]
    assert decoded.tid == r["tid"] == token["tid"]
    assert r["amount_cents"] == sum(r["deductions"].values()) + r["energy_cents"]


def test_tids_strictly_increase_within_one_minute(world):
    p = world.pans[0]
    tids = [sales.sell(world.station, world.ops["alice"], p, 500, "cash")["tid"] for _ in range(5)]
    assert tids == sorted(set(tids)) and len(tids) == 5
    assert world.meter(p)["last_tid"] == tids[-1]
    world.clock.advance(minutes=90)
    later = sales.sell(world.station, world.ops["alice"], p, 500, "cash")["tid"]
    assert later > tids[-1] + 80


def test_large_sale_rounds_up_in_customers_favour(world):
    p = world.pans[0]
    r = sales.sell(world.station, world.ops["alice"], p, 11600000, "bank")   # 116,000.00 -> 400,000 kWh
    assert r["units_tenths"] == 4000000
    decoded = _decode(world, p, r["tokens"][0]["digits"])
    assert decoded.value == r["units_credited_tenths"] >= r["units_tenths"]


def test_amount_above_what_a_token_carries_is_refused_and_nothing_written(world):
    before = world.count(schema.sales), world.count(schema.tokens), world.count(schema.audit_log)
    with pytest.raises(VendError):
        sales.sell(world.station, world.ops["alice"], world.pans[0], 10 ** 10, "cash")
    assert (world.count(schema.sales), world.count(schema.tokens), world.count(schema.audit_log)) == before
    assert world.meter(world.pans[0])["last_tid"] == 0


def test_bad_inputs_refused(world):
    p = world.pans[0]
    with pytest.raises(VendError, match="unknown meter"):
        sales.sell(world.station, world.ops["alice"], pan(99), 1000, "cash")
    with pytest.raises(VendError, match="check digit"):
        sales.sell(world.station, world.ops["alice"], p[:-1] + "0", 1000, "cash")
    with pytest.raises(VendError, match="minimum"):
        sales.sell(world.station, world.ops["alice"], p, 50, "cash")
    with pytest.raises(VendError, match="channel"):
        sales.sell(world.station, world.ops["alice"], p, 1000, "cheque")
    assert world.count(schema.sales) == 0 and world.count(schema.tokens) == 0


def test_expired_key_and_rolled_over_base_date_refused(world):
    p = world.pans[0]
    with world.station.begin() as conn:
        conn.execute(update(schema.vending_keys).where(schema.vending_keys.c.krn == 1,
                                                       schema.vending_keys.c.sgc == 201457)
                     .values(expires_on=datetime.date(2026, 5, 1)))
    with pytest.raises(VendError, match="expired"):
        sales.sell(world.station, world.ops["alice"], p, 1000, "cash")
    with world.station.begin() as conn:
        records.add_customer(conn, world.clock(), "OLD-1", "Old Meter Owner")
        records.add_meter(conn, world.clock(), pan(5), "OLD-1", 123456, 1, 1, 2, "sta", 1993, "electricity", "home")
    with pytest.raises(VendError, match="rolled over"):
        sales.sell(world.station, world.ops["alice"], pan(5), 1000, "cash")
    assert world.count(schema.sales) == 0 and world.count(schema.tokens) == 0


def test_reprint_gives_same_tokens_no_new_tid(world):
    p = world.pans[0]
    first = sales.sell(world.station, world.ops["alice"], p, 2000, "cash")
    again = sales.reprint(world.station, world.ops["bob"], pan=p)
    assert again["reprint"] and again["tokens"] == first["tokens"] and again["receipt"] == first["receipt"]
    assert world.meter(p)["last_tid"] == first["tid"] and world.count(schema.tokens) == 1


def test_reference_makes_a_retry_vend_nothing_twice(world):
    p = world.pans[0]
    first = sales.sell(world.station, world.ops["alice"], p, 2000, "mobile", reference="MP-1")
    retry = sales.sell(world.station, world.ops["alice"], p, 2000, "mobile", reference="MP-1")
    assert retry["duplicate"] and retry["tokens"] == first["tokens"]
    assert world.count(schema.sales) == 1


def test_crash_before_commit_leaves_no_token_and_no_sale(world):
    """Fault injection: the audit insert (the last write of a sale) fails after the token
    and the sale rows were written in the same transaction."""
    p = world.pans[0]

    def explode(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            raise RuntimeError("power cut")
    event.listen(world.engine, "before_cursor_execute", explode)
    try:
        with pytest.raises(RuntimeError):
            sales.sell(world.station, world.ops["alice"], p, 2000, "cash")
    finally:
        event.remove(world.engine, "before_cursor_execute", explode)
    assert world.count(schema.sales) == 0 and world.count(schema.tokens) == 0
    assert world.meter(p)["last_tid"] == 0
    ok = sales.sell(world.station, world.ops["alice"], p, 2000, "cash")
    assert world.count(schema.tokens) == 1 and ok["receipt"]


def test_tariff_deductions_blocks_debt_service_free_units(world):
    now = world.clock()
    p = world.pans[0]
    with world.station.begin() as conn:
        records.add_tariff(conn, now, "lifeline", {
            "blocks": [(500, 100000), (None, 300000)], "vat_bp": 1000, "service_cents": 500,
            "service_period": "month", "free_tenths": 250})
        lifeline = records.find_tariff(conn, "lifeline")["id"]
        conn.execute(update(schema.meters).values(tariff_id=lifeline))
        customer = records.find_customer(conn, "A-001")
        records.set_debt(conn, customer["id"], 3000, 1200)
    r = sales.sell(world.station, world.ops["alice"], p, 10000, "cash")
    # debt 12 % of 100.00 = 12.00 capped at 30.00; service 5.00 + VAT 0.50; 82.50 incl. VAT -> 75.00
    assert r["deductions"] == {"debt_cents": 1200, "service_cents": 500, "vat_cents": 50 + 750}
    assert r["energy_cents"] == 7500 and r["debt_after_cents"] == 1800
    # 50.0 kWh at 0.10 = 5.00, then 70.00 at 0.30 = 233.3 kWh (rounding 0.01 stays)
    assert [(b["price_micro"], b["tenths"]) for b in r["blocks"]] == [(100000, 500), (300000, 2333)]
    assert r["units_tenths"] == 2833 and r["free_tenths"] == 250
    kinds = [t["kind"] for t in r["tokens"]]
    assert kinds == ["credit", "free_basic"]
    assert _decode(world, p, r["tokens"][1]["digits"]).value == 250
    assert r["tokens"][1]["tid"] > r["tokens"][0]["tid"]
    second = sales.sell(world.station, world.ops["alice"], p, 10000, "cash")
    # same month: no service charge, no free units, all energy in the upper block
    assert second["deductions"]["service_cents"] == 0 and second["free_tenths"] == 0
    assert len(second["tokens"]) == 1 and second["blocks"][0]["price_micro"] == 300000
    world.clock.advance(days=31)          # June: service and free units again, lower block again
    third = sales.sell(world.station, world.ops["alice"], p, 10000, "cash")
    assert third["deductions"]["service_cents"] == 500 and third["free_tenths"] == 250
    assert third["blocks"][0]["price_micro"] == 100000


def test_currency_and_misty1_meters(world):
    now = world.clock()
    with world.station.begin() as conn:
        records.add_meter(conn, now, pan(7), "A-001", 201457, 1, 1, 2, "misty1", 2014, "water", "home",
                          credit_mode="currency")
    r = sales.sell(world.station, world.ops["alice"], pan(7), 11600, "cash")
    assert r["credit_e5"] is not None and r["energy_cents"] == 10000
    decoded = _decode(world, pan(7), r["tokens"][0]["digits"])
    assert decoded.subclass == 5 and decoded.value == r["credit_e5"] >= 10000 * 1000


def test_management_tokens_take_tids(world):
    p = world.pans[0]
    tok = mgmt.issue_management(world.station, world.ops["sam"], p, "power-limit", 5000)
    decoded = _decode(world, p, tok["digits"])
    assert decoded.token_class == 2 and decoded.subclass == 0 and decoded.tid == tok["tid"]
    sale = sales.sell(world.station, world.ops["alice"], p, 1000, "cash")
    assert sale["tid"] > tok["tid"]
    tamper = mgmt.issue_management(world.station, world.ops["sam"], p, "clear-tamper")
    assert _decode(world, p, tamper["digits"]).subclass == 5


def test_rollover_key_change_then_sale_prints_kct_first(world):
    now = world.clock()
    old = pan(11)
    with world.station.begin() as conn:
        records.add_meter(conn, now, old, "A-001", 123456, 1, 1, 2, "sta", 1993, "electricity", "home")
        records.add_vending_key(conn, world.station.keystore(conn), now, 123456, 2, "04",
                                bytes.fromhex("00112233445566778899aabbccddeeff00112233"))
    old_key = world.decoder_key(old)
    result = mgmt.key_change(world.station, world.ops["sam"], old, krn=2, base_year=2014)
    assert result["rollover"] and len(result["tokens"]) == 2
    first = sts.decode(result["tokens"][0]["digits"], old_key, "sta")
    assert first.token_class == 2 and first.subclass == 3
    m = world.meter(old)
    assert (m["krn"], m["base_year"], m["last_tid"], m["dkga"]) == (2, 2014, 0, "04")
    sale = sales.sell(world.station, world.ops["alice"], old, 2000, "cash")
    assert [t["kind"] for t in sale["tokens"]] == ["key_change", "key_change", "credit"]
    from tokens import keys
    new_key = keys.dkga04(bytes.fromhex("00112233445566778899aabbccddeeff00112233"), old, 123456, 1, 2, 2,
                          2014, "sta")
    assert sts.decode(sale["tokens"][2]["digits"], new_key, "sta").value == sale["units_credited_tenths"]
    again = sales.sell(world.station, world.ops["alice"], old, 2000, "cash")
    assert [t["kind"] for t in again["tokens"]] == ["credit"]


def test_audit_verify_detects_edit_and_delete(world):
    p = world.pans[0]
    for _ in range(3):
        sales.sell(world.station, world.ops["alice"], p, 1000, "cash")
    with world.engine.connect() as conn:
        problems, count = audit.verify(conn)
    assert problems == [] and count > 3
    with world.station.begin() as conn:          # someone lowers a sale's amount
        conn.execute(update(schema.sales).where(schema.sales.c.id == 2).values(amount_cents=1))
    with world.engine.connect() as conn:
        problems, _ = audit.verify(conn)
    assert any("sale 2" in p for p in problems)
    with world.station.begin() as conn:          # restore, then delete an audit entry
        conn.execute(update(schema.sales).where(schema.sales.c.id == 2).values(amount_cents=1000))
        entry = conn.execute(select(schema.audit_log.c.id).where(schema.audit_log.c.action == "sale")
                             .order_by(schema.audit_log.c.id)).scalars().first()
        conn.execute(schema.audit_log.delete().where(schema.audit_log.c.id == entry))
    with world.engine.connect() as conn:
        problems, _ = audit.verify(conn)
    assert any("missing" in p for p in problems) and any("no audit entry" in p for p in problems)
    with world.station.begin() as conn:          # edit an entry's payload
        conn.execute(update(schema.audit_log).where(schema.audit_log.c.id == entry + 1).values(payload="{}"))
    with world.engine.connect() as conn:
        problems, _ = audit.verify(conn)
    assert any("entry %d was altered" % (entry + 1) in p for p in problems)


def test_daily_service_charge_and_local_time_tids(db_url):
    from tokens.tid import tid_at
    from vendworld import World
    w = World(db_url, timezone="Africa/Nairobi")          # UTC+3: 09:30 UTC is 12:30 local
    now = w.clock()
    with w.station.begin() as conn:
        records.add_tariff(conn, now, "daily", {"blocks": [(None, 250000)], "vat_bp": 0,
                                                "service_cents": 100, "service_period": "day"})
        conn.execute(update(schema.meters).values(tariff_id=records.find_tariff(conn, "daily")["id"]))
    first = sales.sell(w.station, w.ops["alice"], w.pans[0], 1000, "cash")
    assert first["tid"] == tid_at(2014, 2026, 5, 4, 12, 30) and first["local_time"] == "2026-05-04 12:30"
    assert first["deductions"]["service_cents"] == 100                  # today
    w.clock.advance(days=3)
    later = sales.sell(w.station, w.ops["alice"], w.pans[0], 1000, "cash")
    assert later["deductions"]["service_cents"] == 300                  # three more days
    w.engine.dispose()


def test_meter_moves_to_another_customer_with_history(world):
    p = world.pans[0]
    sales.sell(world.station, world.ops["alice"], p, 1000, "cash")
    with world.station.begin() as conn:
        records.add_customer(conn, world.clock(), "B-002", "New Tenant")
    world.clock.advance(days=1)
    with world.station.begin() as conn:
        records.move_meter(conn, world.clock(), p, "B-002")
    sale = sales.sell(world.station, world.ops["alice"], p, 1000, "cash")
    assert sale["customer"]["account"] == "B-002"
    with world.engine.connect() as conn:
        history = records.meter_history(conn, world.meter(p)["id"])
        first_sale = sales.receipt(world.station, conn, 1)
    assert [h["account"] for h in history] == ["A-001", "B-002"] and history[0]["to_at"] is not None
    assert first_sale["customer"]["account"] == "A-001"          # the ledger keeps who bought then
