"""Management tokens: power limit, clear credit, clear tamper, tariff rate, phase unbalance,
water meter factor, key change (revision, SGC, and the TID-rollover base-date change) and
test tokens. Each issue is one transaction with its audit entry, like a sale.
"""
import json

from sqlalchemy import insert, update

from host.vending import audit, schema
from host.vending.errors import VendError
from host.vending.issue import fresh_tids, locked_meter, save_last_tid, store_token, token_error
from host.vending.records import ALGORITHMS, BASE_YEARS, find_vending_key

# kind -> (codec function name, what the value means)
MANAGEMENT = {
    "power-limit": ("set_max_power_limit", "watts"),
    "clear-credit": ("clear_credit", "register"),
    "clear-tamper": ("clear_tamper", None),
    "tariff-rate": ("set_tariff_rate", "rate"),
    "phase-unbalance": ("set_phase_unbalance_limit", "watts"),
    "water-factor": ("set_water_meter_factor", "factor"),
}


def issue_management(station, operator, pan, kind, value=None):
    """One class-2 register token with a fresh TID; returns the token dict."""
    from tokens import sts
    from tokens.errors import TokenError
    if kind not in MANAGEMENT:
        raise VendError("management token must be one of %s" % ", ".join(sorted(MANAGEMENT)))
    function, value_name = MANAGEMENT[kind]
    if value_name and value is None:
        raise VendError("%s needs a value (%s)" % (kind, value_name))
    with station.begin() as conn:
        now = station.clock()
        local_now = station.local(now, conn)
        meter = locked_meter(conn, pan, allow_blocked=True)
        key = station.decoder_key(conn, meter, local_now.date())
        (tid,) = fresh_tids(meter, local_now, 1)
        try:
            builder = getattr(sts, function)
            issued = builder(key, meter["algorithm"], tid) if value_name is None else \
                builder(key, meter["algorithm"], tid, value)
        except TokenError as exc:
            raise token_error(meter, exc)
        row = store_token(conn, meter, operator["id"], kind.replace("-", "_"), issued, now)
        save_last_tid(conn, meter)
        audit.append(station, conn, now, operator["name"], "token", row["id"], {
            "meter": meter["pan"], "kind": kind, "value": value, "tid": tid, "digits": issued.digits},
            rows=[(schema.meters, meter["id"])])
    row.update(meter=meter["pan"], issued_at=now.isoformat(" ", "seconds") + " UTC")
    return row


def key_change(station, operator, pan, krn=None, sgc=None, ti=None, kt=None, base_year=None, ken=None):
    """Move the meter to another key (revision, SGC, TI, KT, base date).

    A base-date change sets the rollover bit: the meter clears its TID memory, and the
    station starts the meter's TIDs afresh on the new base date. The tokens are stored as
    a pending set; the meter's next sale prints them before its credit token.
    """
    from tokens import sts
    from tokens.errors import TokenError
    with station.begin() as conn:
        now = station.clock()
        local_now = station.local(now, conn)
        meter = locked_meter(conn, pan, allow_blocked=True)
        new = {"sgc": meter["sgc"] if sgc is None else sgc, "krn": meter["krn"] if krn is None else krn,
               "ti": meter["ti"] if ti is None else ti, "kt": meter["kt"] if kt is None else kt,
               "base_year": meter["base_year"] if base_year is None else base_year,
               "ken": meter["ken"] if ken is None else ken}
        if new["base_year"] not in BASE_YEARS:
            raise VendError("base date must be 1993, 2014 or 2035")
        if new["base_year"] < meter["base_year"]:
            raise VendError("the base date can only move forward (%d -> %d)" % (meter["base_year"], new["base_year"]))
        old_ident = {k: meter[k] for k in ("sgc", "krn", "ti", "kt", "base_year", "ken")}
        if new == old_ident:
            raise VendError("the new key is the same as the meter's current key")
        new_key_row = find_vending_key(conn, new["sgc"], new["krn"])
        if new_key_row["dkga"] == "02" and (meter["algorithm"] != "sta" or new["base_year"] != 1993):
            raise VendError("DKGA02 keys serve EA07 (sta) meters on the 1993 base date only")
        old_dk = station.decoder_key(conn, meter, local_now.date())
        target = dict(meter, **new)
        target["dkga"] = new_key_row["dkga"]
        new_dk = station.decoder_key(conn, target, local_now.date())
        rollover = new["base_year"] != meter["base_year"]
        carry_sgc = new["sgc"] if (new["sgc"] != meter["sgc"] or meter["algorithm"] == "misty1") else None
        try:
            issued = sts.key_change(old_dk, meter["algorithm"], new_dk, new["krn"], new["kt"], new["ti"],
                                    ken=new["ken"], rollover=rollover, sgc=carry_sgc)
        except TokenError as exc:
            raise token_error(meter, exc)
        detail = {"from": old_ident, "to": new, "rollover": rollover}
        kc_id = conn.execute(insert(schema.key_changes).values(
            meter_id=meter["id"], operator_id=operator["id"], issued_at=now,
            detail=json.dumps(detail, sort_keys=True))).inserted_primary_key[0]
        rows = [store_token(conn, meter, operator["id"], "key_change", tok, now, key_change_id=kc_id)
                for tok in issued]
        values = dict(new, dkga=new_key_row["dkga"])
        if rollover:
            values["last_tid"] = 0
        conn.execute(update(schema.meters).where(schema.meters.c.id == meter["id"]).values(**values))
        audit.append(station, conn, now, operator["name"], "key_change", meter["pan"], dict(
            detail, digits=[t["digits"] for t in rows]), rows=[(schema.meters, meter["id"])])
    return {"meter": meter["pan"], "key_change": kc_id, "rollover": rollover, "from": old_ident, "to": new,
            "tokens": rows}


def test_token(station, operator, control, mfr_code=0, mfr_digits=2):
    """A class-1 test/display token (not meter-specific, not encrypted); audited, not stored."""
    from tokens import sts
    issued = sts.test_token(control, mfr_code, mfr_digits)
    tests = sts.describe_control(control)
    with station.begin() as conn:
        audit.append(station, conn, station.clock(), operator["name"], "test_token", "-",
                     {"control": control, "tests": tests, "mfr_code": mfr_code,
                      "digits": issued.digits})
    return {"kind": "test", "digits": issued.digits, "tid": None, "value": None, "tests": tests}


def normalise_algorithm(text):
    value = ALGORITHMS.get(str(text).lower())
    if value is None:
        raise VendError("algorithm must be sta (EA07) or misty1 (EA11)")
    return value
