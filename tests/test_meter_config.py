"""Configuration errors name the field a technician must fix; calendar arithmetic."""
from dualrt import raises
from meter import civil
from meter.config import ConfigError, validate
from meter.core import Meter
from test_meter_kit import LogStore, at

DUAL_RUNTIME = True


def error_of(cfg):
    return str(raises(ConfigError, validate, cfg))


def test_defaults_are_complete_and_validation_is_idempotent():
    cfg = validate({})
    assert cfg["utility"] == "electricity"
    assert cfg["event_capacity"] >= 200
    assert cfg["daily_history_days"] >= 62 and cfg["monthly_history_months"] >= 24
    assert validate(cfg) == cfg


def test_config_errors_name_the_field():
    assert error_of({"utilty": "gas"}).startswith("utilty: unknown field")
    assert error_of({"utility": "steam"}).startswith("utility: must be one of")
    assert error_of({"settlement_day": 31}).startswith("settlement_day: must be <= 28")
    assert error_of({"imp_per_unit": "1000"}).startswith("imp_per_unit: must be an integer")
    assert error_of({"credit": {"max_micro": 1.5}}).startswith("credit.max_micro:")
    assert error_of({"credit": {"alarms": {"low1": {"percent": 130}}}}) \
        .startswith("credit.alarms.low1.percent: must be <= 100")
    assert error_of({"supply": {"load_limit": {"hold": 10}}}) \
        .startswith("supply.load_limit.hold: unknown field")
    assert error_of({"ml_per_pulse": 10}).startswith("ml_per_pulse: only for water and gas")
    assert error_of({"supply": {"load_limit": {"lockout_s": -1}}}) \
        .startswith("supply.load_limit.lockout_s: must be >= 0")
    assert error_of({"supply": {"unbalance": {"lockout_s": "1h"}}}) \
        .startswith("supply.unbalance.lockout_s: must be an integer")


def test_a_lockout_times_out_after_half_an_hour_unless_configured():
    cfg = validate({})
    assert cfg["supply"]["load_limit"]["lockout_s"] == 1800
    assert cfg["supply"]["unbalance"]["lockout_s"] == 1800
    cfg = validate({"supply": {"load_limit": {"lockout_s": 0}}})
    assert cfg["supply"]["load_limit"]["lockout_s"] == 0          # only the button


def test_tariff_errors_name_the_table_and_entry():
    tou = {"kind": "tou", "prices": [1, 2],
           "profiles": {"weekday": [[0, 1], [420, 2], [400, 1]]}}
    assert error_of({"tariff": {"active": tou}}) == \
        "tariff.active.profiles.weekday[2]: switching times must increase"
    tou["profiles"]["weekday"] = [[60, 1]]
    assert error_of({"tariff": {"active": tou}}).startswith(
        "tariff.active.profiles.weekday[0]: the first switching time must be 0")
    tou["profiles"]["weekday"] = [[0, 3]]
    assert error_of({"tariff": {"pending": tou, "pending_from": 0}}).startswith(
        "tariff.pending.profiles.weekday[0]: rate must be 1..2")
    block = {"kind": "block", "blocks": [[100, 1], [50, 2], [None, 3]]}
    assert error_of({"tariff": {"active": block}}).startswith("tariff.active.blocks[1]:")
    block = {"kind": "block", "blocks": [[100, 1]]}
    assert "open-ended" in error_of({"tariff": {"active": block}})
    assert error_of({"tariff": {"active": {"kind": "flat", "prices": [1, 2, 3, 4, 5]}}}) \
        .startswith("tariff.active.prices:")


def test_friendly_and_holiday_errors():
    assert error_of({"supply": {"friendly": {"week": [[]] * 6}}}) \
        .startswith("supply.friendly.week: must list 7 days")
    assert error_of({"supply": {"friendly": {"holiday": [[900, 800]]}}}) \
        .startswith("supply.friendly.holiday[0]:")
    assert error_of({"holidays": [[13, 1]]}).startswith("holidays[0]: month 1..12")


def test_twelve_switching_times_in_a_day_profile():
    profile = [[i * 120, 1 + i % 4] for i in range(12)]
    cfg = validate({"tariff": {"active": {"kind": "tou", "prices": [1, 2, 3, 4],
                                          "profiles": {"weekday": profile}}}})
    assert len(cfg["tariff"]["active"]["profiles"]["weekday"]) == 12


def test_meter_refuses_bad_config_before_touching_the_store():
    store = LogStore()
    raises(ConfigError, Meter, {"credit_mode": "coins"}, store, at(2025, 1, 1))
    assert store.count() == 0


def test_civil_dates_round_trip_and_weekdays():
    assert civil.days_from_civil(2000, 1, 1) == 0
    assert civil.weekday(0) == 5                               # a Saturday
    assert civil.weekday(civil.days_from_civil(2025, 3, 14)) == 4   # a Friday
    assert civil.civil_from_days(civil.days_from_civil(2024, 2, 29)) == (2024, 2, 29)
    assert civil.days_from_civil(2100, 3, 1) - civil.days_from_civil(2100, 2, 28) == 1
    for n in range(-800, 40000, 13):
        assert civil.days_from_civil(*civil.civil_from_days(n)) == n
    assert civil.seconds(2000, 1, 2, 1, 2, 3) == 86400 + 3723
    assert civil.split(86400 + 3723) == (1, 3723)


def test_settlement_month_boundaries():
    d = civil.days_from_civil(2025, 3, 10)
    assert civil.civil_from_days(civil.settlement_start(d, 15)) == (2025, 2, 15)
    assert civil.civil_from_days(civil.next_settlement(d, 15)) == (2025, 3, 15)
    d = civil.days_from_civil(2025, 1, 3)
    assert civil.civil_from_days(civil.settlement_start(d, 5)) == (2024, 12, 5)
