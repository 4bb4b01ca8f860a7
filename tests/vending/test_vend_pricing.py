"""The sale computation alone: deductions in order, VAT, block steps, rounding, and that
no cent goes missing (property test)."""
import pytest
from hypothesis import given, strategies as st

from host.parse import ParseError, fixed, money
from host.vending.errors import VendError
from host.vending.money import fmt_cents
from host.vending.pricing import buy_units, check_blocks, compute_sale

FLAT = {"blocks": [(None, 250000)], "vat_bp": 1600, "min_amount_cents": 100}
STEPS = {"blocks": [(500, 100000), (1500, 200000), (None, 300000)], "vat_bp": 0, "min_amount_cents": 100}


def test_money_parsing_is_exact():
    assert money("100.00") == 10000 and money("0.1") == 10 and money("7") == 700
    assert fixed("0.253700", 6) == 253700 and fmt_cents(-1234) == "-12.34"
    for bad in ("1.005", "abc", "", "1e3", "-5", "100,50"):
        with pytest.raises(ParseError):
            money(bad)


def test_flat_with_vat():
    r = compute_sale(10000, FLAT)
    assert (r["vat_cents"], r["energy_cents"], r["units_tenths"]) == (1380, 8620, 3448)


def test_block_steps_continue_from_month_position():
    tenths, steps, rest = buy_units(10000, STEPS["blocks"], 400)     # 100.00 from 40 kWh on
    # 10 kWh at 0.10 = 1.00; 100 kWh at 0.20 = 20.00; 79.00 at 0.30 = 263.3 kWh
    assert [(p, t) for p, t, _ in steps] == [(100000, 100), (200000, 1000), (300000, 2633)]
    assert tenths == 3733 and rest == 10000 * 10000 - sum(c for _, _, c in steps)


def test_daily_service_and_debt_cap():
    r = compute_sale(5000, FLAT, debt_cents=200, debt_recovery_bp=1000, service_due_cents=300)
    assert r["debt_cents"] == 200 and r["debt_after_cents"] == 0          # 10 % = 5.00, capped at 2.00
    assert r["service_cents"] == 300 and r["vat_cents"] == 48 + (5000 - 200 - 348) - (5000 - 200 - 348) * 10000 // 11600


def test_refusals():
    with pytest.raises(VendError, match="minimum"):
        compute_sale(99, FLAT)
    with pytest.raises(VendError, match="does not cover"):
        compute_sale(500, FLAT, service_due_cents=500)
    with pytest.raises(VendError):
        check_blocks([(500, 100000), (400, 200000), (None, 1)])
    with pytest.raises(VendError):
        check_blocks([(None, 0)])


@given(amount=st.integers(100, 10 ** 8), vat=st.integers(0, 3000), debt=st.integers(0, 10 ** 6),
       rate=st.integers(0, 5000), service=st.integers(0, 5000), before=st.integers(0, 5000))
def test_no_cent_goes_missing(amount, vat, debt, rate, service, before):
    tariff = dict(STEPS, vat_bp=vat)
    try:
        r = compute_sale(amount, tariff, debt_cents=debt, debt_recovery_bp=rate, service_due_cents=service,
                         month_before_tenths=before)
    except VendError:
        return
    assert r["debt_cents"] + r["service_cents"] + r["vat_cents"] + r["energy_cents"] == amount
    spent = sum(b["cost_micro"] for b in r["blocks"])
    assert spent + r["rounding_micro"] == r["energy_cents"] * 10000
    assert 0 <= r["rounding_micro"] < 300000 // 10 + 1     # less than one tenth at the dearest price
    assert r["units_tenths"] == sum(b["tenths"] for b in r["blocks"])
