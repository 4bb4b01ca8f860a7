"""Receipts add up to what was paid, to the cent, on paper (text and PDF) as in JSON; they
say what the token really carries; a name the PDF font cannot draw, or a file that
cannot be written, never hides the token of a sale that has committed."""
import datetime
import io
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from host.vending import receipts, sales
from host.vending.errors import VendError
from host.vending.pricing import compute_sale
from tokens import sts
from tokens.errors import TokenError
from vendworld import pan

_MONEY_LINE = re.compile(r"(.*\S)\s+(-?[0-9]+\.[0-9]{2})\Z")


def _cents(text):
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def printed_sums(lines):
    """(tendered, what the top lines leave, the energy line, what its detail lines add to),
    read back from the printed receipt as a customer would add it up."""
    money = [(m.group(1), _cents(m.group(2))) for m in map(_MONEY_LINE.match, lines) if m]
    labels = [label for label, _ in money]
    top = labels.index("Amount tendered")
    energy = next(i for i, label in enumerate(labels) if label in ("Energy amount", "Credit amount"))
    tendered = money[top][1]
    deductions = sum(cents for _, cents in money[top + 1:energy])
    detail = [cents for label, cents in money[energy + 1:] if label.startswith("  ")]
    return tendered, tendered + deductions, money[energy][1], sum(detail) if detail else money[energy][1]


def receipt_of(amount_cents, tariff, credit_mode="unit", **kw):
    """A receipt dict for a computed sale, assembled as the ledger assembles it."""
    from tokens import amount
    computed = compute_sale(amount_cents, dict(tariff, min_amount_cents=100), credit_mode, **kw)
    if credit_mode == "currency":
        credit_value = amount.encode_currency(computed["credit_e5"])[2]
    else:
        credit_value = amount.encode_units(computed["units_tenths"])[1]
    row = dict(id=7, sold_at=datetime.datetime(2026, 5, 4, 9, 30), pan="600727000000000009",
               utility="electricity", credit_mode=credit_mode, account="A-001", customer_name="Jane Doe",
               operator_name="alice", channel="cash", reference=None, amount_cents=amount_cents,
               debt_cents=computed["debt_cents"], service_cents=computed["service_cents"],
               vat_cents=computed["vat_cents"], energy_cents=computed["energy_cents"],
               units_tenths=computed["units_tenths"], credit_value=credit_value, free_tenths=0)
    detail = {"blocks": computed["blocks"], "rounding_micro": computed["rounding_micro"],
              "debt_after_cents": computed["debt_after_cents"], "tariff": "t", "vat_bp": tariff["vat_bp"],
              "local_time": "2026-05-04 12:30"}
    token = {"kind": "credit", "digits": "30195641363251977896", "tid": 6781893, "value": credit_value}
    return sales._assemble(row, detail, [token])


def check_adds_up(r, lines):
    tendered, left, energy, detail = printed_sums(lines)
    assert tendered == r["amount_cents"]
    assert left == energy == r["energy_cents"] == detail
    # the JSON says the same
    assert sum(r["deductions"].values()) + r["energy_cents"] == r["amount_cents"]
    if r["blocks"]:
        assert sum(b["cost_cents"] for b in r["blocks"]) + r["rounding_cents"] == r["energy_cents"]
        assert r["rounding_cents"] >= 0 and all(b["cost_cents"] >= 0 for b in r["blocks"])


_PRICES = st.integers(1, 3000000)
_TARIFFS = st.one_of(
    st.builds(lambda p: [(None, p)], _PRICES),
    st.builds(lambda a, b, p, q, r: [(a, p), (a + b, q), (None, r)],
              st.integers(1, 5000), st.integers(1, 5000), _PRICES, _PRICES, _PRICES))


@settings(max_examples=400, deadline=None)
@given(amount=st.integers(100, 10 ** 8), blocks=_TARIFFS, vat=st.integers(0, 3000), debt=st.integers(0, 10 ** 6),
       rate=st.integers(0, 5000), service=st.integers(0, 5000), before=st.integers(0, 12000),
       currency=st.booleans())
def test_printed_receipt_adds_up_to_what_was_tendered(amount, blocks, vat, debt, rate, service, before, currency):
    try:
        r = receipt_of(amount, {"blocks": blocks, "vat_bp": vat}, "currency" if currency else "unit",
                       debt_cents=debt, debt_recovery_bp=rate, service_due_cents=service, month_before_tenths=before)
    except (VendError, TokenError):      # refused: too little, or more than a token carries
        return
    check_adds_up(r, receipts.lines(r))


def pdf_lines(path):
    import pypdf
    return pypdf.PdfReader(path).pages[0].extract_text().splitlines()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.integers(100, 10 ** 7), blocks=_TARIFFS, vat=st.integers(0, 3000))
def test_pdf_receipt_says_what_the_text_says(tmp_path, amount, blocks, vat):
    try:
        r = receipt_of(amount, {"blocks": blocks, "vat_bp": vat})
    except (VendError, TokenError):      # refused: too little, or more than a token carries
        return
    path = str(tmp_path / "r.pdf")
    receipts.write_pdf(r, path)
    printed = pdf_lines(path)
    assert [line.strip() for line in printed] == [line.strip() for line in receipts.lines(r)]
    check_adds_up(r, printed)


def test_issue_example_block_tariff_prints_the_rounding():
    # 2000.00 at 16 % VAT on a dear block: the cents below a tenth's price are printed
    r = receipt_of(200000, {"blocks": [(500, 100000), (1500, 253700), (None, 700000)], "vat_bp": 1600})
    lines = receipts.lines(r)
    assert r["rounding_cents"] > 0 and any(line.startswith("  Rounding (kept)") for line in lines)
    check_adds_up(r, lines)


def test_receipt_shows_what_the_token_carries():
    # 2000.3 kWh goes onto a token as 2000.4 (exponent 1: whole kWh steps above 1638.3)
    r = receipt_of(50008, {"blocks": [(None, 250000)], "vat_bp": 0})
    assert (r["units_tenths"], r["units_credited_tenths"]) == (20003, 20004)
    text = receipts.text(r)
    assert re.search(r"Units bought +2000\.3 kWh", text) and re.search(r"Units on token +2000\.4 kWh", text)
    # a currency meter: 100.00 of credit is carried as 100.00624
    c = receipt_of(10000, {"blocks": [(None, 250000)], "vat_bp": 0}, "currency")
    assert c["credit_e5"] == 10000624 and re.search(r"Credit on token +100\.00624", receipts.text(c))


def test_long_and_hostile_ledger_text_is_wrapped_and_escaped():
    r = receipt_of(10000, {"blocks": [(None, 250000)], "vat_bp": 1600})
    r["customer"] = {"name": "Jane\nUnits            999.0 kWh\x1b[2J" + "x" * 150, "account": "A-\u202e1"}
    lines = receipts.lines(r)
    assert all(len(line) <= receipts.WIDTH for line in lines)
    (units,) = [line for line in lines if line.startswith("Units")]
    assert "999.0" not in units
    joined = "\n".join(lines)
    assert "\x1b" not in joined and "\u202e" not in joined and "\\n" in joined and "\\x1b" in joined
    assert "x" * 30 in joined and joined.replace("\\x1b", "").count("x") == 150      # wrapped, not cut


def test_currency_sale_receipt_shows_the_decoded_credit(world):
    with world.station.begin() as conn:
        from host.vending import records
        records.add_meter(conn, world.clock(), pan(7), "A-001", 201457, 1, 1, 2, "misty1", 2014, "water", "home",
                          credit_mode="currency")
    r = sales.sell(world.station, world.ops["alice"], pan(7), 11600, "cash")
    decoded = sts.decode(r["tokens"][0]["digits"], world.decoder_key(pan(7)), "misty1")
    shown = "%d.%05d" % divmod(decoded.value, 100000)
    assert re.search(r"Credit on token +%s\n" % re.escape(shown), receipts.text(r))
    check_adds_up(r, receipts.lines(r))


def test_block_sales_add_up_on_the_ledger_and_on_reprint(world):
    from sqlalchemy import update
    from host.vending import records, schema
    with world.station.begin() as conn:
        records.add_tariff(conn, world.clock(), "steps", {"blocks": [(500, 100000), (1500, 253700), (None, 330000)],
                                                          "vat_bp": 1600})
        conn.execute(update(schema.meters).values(tariff_id=records.find_tariff(conn, "steps")["id"]))
    p = world.pans[0]
    for amount in (200000, 1999, 33333):
        r = sales.sell(world.station, world.ops["alice"], p, amount, "cash")
        check_adds_up(r, receipts.lines(r))
        again = sales.reprint(world.station, world.ops["alice"], sale_id=r["receipt"])
        assert again["blocks"] == r["blocks"] and again["rounding_cents"] == r["rounding_cents"]


def test_pdf_that_cannot_be_drawn_falls_back_to_text(tmp_path):
    r = receipt_of(10000, {"blocks": [(None, 250000)], "vat_bp": 1600})
    r["customer"] = {"name": "王小明", "account": "A-9"}
    path = str(tmp_path / "r.pdf")
    warnings = receipts.save(r, path)
    assert len(warnings) == 1 and "U+738B" in warnings[0] and "r.txt" in warnings[0]
    assert not (tmp_path / "r.pdf").exists()
    assert "王小明" in (tmp_path / "r.txt").read_text(encoding="utf-8")
    assert receipts.save(r, str(tmp_path / "no-such-dir" / "r.txt"))[0].startswith("receipt 7 was not written")


def test_sans_serif_fallback_draws_what_the_monospace_font_lacks(tmp_path):
    r = receipt_of(10000, {"blocks": [(None, 250000)], "vat_bp": 1600})
    r["customer"] = {"name": "Ngũgĩ wa Thiong'o ☂", "account": "Ἀθῆναι-1"}
    path = str(tmp_path / "r.pdf")
    assert receipts.save(r, path) == []
    text = "\n".join(pdf_lines(path))
    assert "Ngũgĩ wa Thiong'o" in text and "Ἀθῆναι-1" in text
    assert io.BytesIO((tmp_path / "r.pdf").read_bytes()).read(4) == b"%PDF"
