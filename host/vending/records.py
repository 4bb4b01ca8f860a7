"""Customers, meters (with their assignment history), tariffs (versioned), vending keys, debt.

Every function runs inside the caller's transaction and validates before it writes, so a
refused request leaves nothing behind.
"""
import datetime
import json

from sqlalchemy import bindparam, func, insert, select, update

from host.vending import schema
from host.vending.errors import VendError
from host.vending.pricing import check_blocks
from host.vending.text import field

UTILITIES = ("electricity", "water", "gas", "time")
ALGORITHMS = {"sta": "sta", "ea07": "sta", "07": "sta", "misty1": "misty1", "ea11": "misty1", "11": "misty1"}
BASE_YEARS = (1993, 2014, 2035)
CHANNELS = ("cash", "bank", "mobile", "card")
EPOCH = datetime.datetime(2000, 1, 1)


# Customers ---------------------------------------------------------------------------

def add_customer(conn, now, account, name, address=None, phone=None, contact_person=None,
                 id_number=None, settlement_day=1):
    """Add a customer; returns what was stored (the typed text checked and stripped)."""
    c = schema.customers.c
    values = {"account": field(account, c.account, "account number"),
              "name": field(name, c.name, "customer name"),
              "address": field(address, c.address, "address", required=False),
              "phone": field(phone, c.phone, "phone number", required=False),
              "contact_person": field(contact_person, c.contact_person, "contact person", required=False),
              "id_number": field(id_number, c.id_number, "ID number", required=False)}
    if not 1 <= settlement_day <= 28:
        raise VendError("settlement day must be 1..28 (every month has it)")
    if find_customer(conn, values["account"], required=False):
        raise VendError("customer account %s already exists" % values["account"])
    values.update(settlement_day=settlement_day, debt_cents=0, debt_recovery_bp=0, created_at=now)
    values["id"] = conn.execute(insert(schema.customers).values(**values)).inserted_primary_key[0]
    return values


def find_customer(conn, account, required=True):
    row = conn.execute(select(schema.customers).where(schema.customers.c.account == account)).mappings().first()
    if row is None and required:
        raise VendError("no customer with account %s" % account)
    return row


def set_debt(conn, customer_id, debt_cents, recovery_bp):
    conn.execute(update(schema.customers).where(schema.customers.c.id == customer_id)
                 .values(debt_cents=debt_cents, debt_recovery_bp=recovery_bp))


# Tariffs -----------------------------------------------------------------------------

def add_tariff(conn, now, name, version):
    name = field(name, schema.tariffs.c.name, "tariff name")
    if conn.execute(select(schema.tariffs.c.id).where(schema.tariffs.c.name == name)).first():
        raise VendError("tariff %s already exists; use 'tariff revise' for new prices" % name)
    tariff_id = conn.execute(insert(schema.tariffs).values(name=name, created_at=now)).inserted_primary_key[0]
    add_tariff_version(conn, now, tariff_id, version)
    return tariff_id


def find_tariff(conn, name):
    row = conn.execute(select(schema.tariffs).where(schema.tariffs.c.name == name)).mappings().first()
    if row is None:
        raise VendError("no tariff named %s" % name)
    return row


def add_tariff_version(conn, now, tariff_id, version):
    """version: blocks, service_cents, service_period, vat_bp, free_tenths, min_amount_cents,
    effective_from (datetime or None for 'always')."""
    check_blocks(version["blocks"])
    if version.get("service_period", "none") not in ("none", "month", "day"):
        raise VendError("service charge period must be month or day")
    effective = version.get("effective_from") or EPOCH
    exists = conn.execute(select(schema.tariff_versions.c.id).where(
        schema.tariff_versions.c.tariff_id == tariff_id,
        schema.tariff_versions.c.effective_from == effective)).first()
    if exists:
        raise VendError("this tariff already has a version effective %s" % effective)
    return conn.execute(insert(schema.tariff_versions).values(
        tariff_id=tariff_id, effective_from=effective, blocks=json.dumps(version["blocks"]),
        service_cents=version.get("service_cents", 0),
        service_period=version.get("service_period", "none") if version.get("service_cents") else "none",
        vat_bp=version.get("vat_bp", 0), free_tenths=version.get("free_tenths", 0),
        min_amount_cents=version.get("min_amount_cents", 100), created_at=now)).inserted_primary_key[0]


_VERSION_AT = (select(schema.tariff_versions, schema.tariffs.c.name.label("tariff_name"))
               .join(schema.tariffs, schema.tariffs.c.id == schema.tariff_versions.c.tariff_id)
               .where(schema.tariff_versions.c.tariff_id == bindparam("tariff_id"),
                      schema.tariff_versions.c.effective_from <= bindparam("at"))
               .order_by(schema.tariff_versions.c.effective_from.desc()).limit(1))
_KEY = select(schema.vending_keys).where(schema.vending_keys.c.sgc == bindparam("sgc"),
                                         schema.vending_keys.c.krn == bindparam("krn"))


def tariff_version_at(conn, tariff_id, at):
    """The tariff version in force at ``at`` (with the tariff's name as ``tariff_name``)."""
    row = conn.execute(_VERSION_AT, {"tariff_id": tariff_id, "at": at}).mappings().first()
    if row is None:
        raise VendError("the meter's tariff has no prices in force on %s" % at.date())
    version = dict(row)
    version["blocks"] = [tuple(b) for b in json.loads(row["blocks"])]
    return version


def list_tariffs(conn):
    t, tv = schema.tariffs, schema.tariff_versions
    rows = conn.execute(select(t.c.name, tv).join(tv, tv.c.tariff_id == t.c.id)
                        .order_by(t.c.name, tv.c.effective_from)).mappings().all()
    return [dict(r) for r in rows]


# Vending keys ------------------------------------------------------------------------

def add_vending_key(conn, custody, now, sgc, krn, dkga, key_bytes, expires_on=None):
    from tokens.errors import TokenError
    from tokens import keys
    if dkga not in ("02", "04"):
        raise VendError("DKGA must be 02 or 04")
    if not 0 <= sgc <= 999999 or not 1 <= krn <= 9:
        raise VendError("SGC is 6 digits and KRN 1..9")
    try:   # derive once with a sample PAN: refuses a key of the wrong size for the DKGA
        if dkga == "02":
            keys.dkga02(key_bytes, "600727000000000009", sgc, 1, krn, 2)
        else:
            keys.dkga04(key_bytes, "600727000000000009", sgc, 1, krn, 2, 2014, "sta")
    except TokenError as exc:
        raise VendError("vending key for DKGA%s: %s" % (dkga, exc))
    if conn.execute(select(schema.vending_keys.c.id).where(
            schema.vending_keys.c.sgc == sgc, schema.vending_keys.c.krn == krn)).first():
        raise VendError("a vending key for SGC %06d KRN %d is already stored" % (sgc, krn))
    nonce, ciphertext = custody.seal(sgc, krn, dkga, key_bytes)
    return conn.execute(insert(schema.vending_keys).values(
        sgc=sgc, krn=krn, dkga=dkga, nonce=nonce, ciphertext=ciphertext, expires_on=expires_on,
        created_at=now)).inserted_primary_key[0]


def find_vending_key(conn, sgc, krn):
    row = conn.execute(_KEY, {"sgc": sgc, "krn": krn}).mappings().first()
    if row is None:
        raise VendError("no vending key stored for SGC %06d KRN %d" % (sgc, krn))
    return row


def usable_vending_key(conn, sgc, krn, today):
    row = find_vending_key(conn, sgc, krn)
    if row["expires_on"] is not None and today > row["expires_on"]:
        raise VendError("the vending key for SGC %06d KRN %d expired on %s"
                        % (sgc, krn, row["expires_on"]))
    return row


def list_vending_keys(conn):
    vk = schema.vending_keys
    return [dict(r) for r in conn.execute(select(vk.c.sgc, vk.c.krn, vk.c.dkga, vk.c.expires_on,
                                                 vk.c.created_at).order_by(vk.c.sgc, vk.c.krn)).mappings()]


# Meters ------------------------------------------------------------------------------

def normalise_pan(pan):
    from tokens.errors import TokenError
    from tokens.pan import validate_pan
    try:
        return validate_pan(str(pan).replace(" ", "").replace("-", ""))
    except TokenError as exc:
        raise VendError("meter number %s: %s" % (pan, exc))


def add_meter(conn, now, pan, account, sgc, ti, krn, kt, algorithm, base_year, utility, tariff,
              credit_mode="unit", ken=255):
    pan = normalise_pan(pan)
    customer = find_customer(conn, account)
    tariff_row = find_tariff(conn, tariff)
    algorithm = ALGORITHMS.get(str(algorithm).lower())
    if algorithm is None:
        raise VendError("algorithm must be sta (EA07) or misty1 (EA11)")
    if utility not in UTILITIES:
        raise VendError("utility must be one of %s" % ", ".join(UTILITIES))
    if credit_mode not in ("unit", "currency"):
        raise VendError("credit mode must be unit or currency")
    if base_year not in BASE_YEARS:
        raise VendError("base date must be 1993, 2014 or 2035")
    if not 0 <= ti <= 99 or not 0 <= kt <= 3 or not 1 <= krn <= 9 or not 0 <= ken <= 255:
        raise VendError("TI is 0..99, KT 0..3, KRN 1..9, KEN 0..255")
    key_row = find_vending_key(conn, sgc, krn)
    if key_row["dkga"] == "02" and (algorithm != "sta" or base_year != 1993):
        raise VendError("DKGA02 keys serve EA07 (sta) meters on the 1993 base date only")
    if conn.execute(select(schema.meters.c.id).where(schema.meters.c.pan == pan)).first():
        raise VendError("meter %s is already registered" % pan)
    meter_id = conn.execute(insert(schema.meters).values(
        pan=pan, customer_id=customer["id"], utility=utility, credit_mode=credit_mode, sgc=sgc, ti=ti,
        krn=krn, kt=kt, algorithm=algorithm, dkga=key_row["dkga"], base_year=base_year, ken=ken,
        last_tid=0, tariff_id=tariff_row["id"], status="active", created_at=now)).inserted_primary_key[0]
    conn.execute(insert(schema.meter_assignments).values(
        meter_id=meter_id, customer_id=customer["id"], from_at=now))
    return meter_id


def find_meter(conn, pan):
    pan = normalise_pan(pan)
    row = conn.execute(select(schema.meters).where(schema.meters.c.pan == pan)).mappings().first()
    if row is None:
        raise VendError("unknown meter %s" % pan)
    return row


def move_meter(conn, now, pan, account):
    meter = find_meter(conn, pan)
    customer = find_customer(conn, account)
    if customer["id"] == meter["customer_id"]:
        raise VendError("meter %s already belongs to %s" % (meter["pan"], account))
    ma = schema.meter_assignments
    conn.execute(update(ma).where(ma.c.meter_id == meter["id"], ma.c.to_at.is_(None)).values(to_at=now))
    conn.execute(insert(ma).values(meter_id=meter["id"], customer_id=customer["id"], from_at=now))
    conn.execute(update(schema.meters).where(schema.meters.c.id == meter["id"])
                 .values(customer_id=customer["id"]))


def set_meter_status(conn, pan, status):
    if status not in ("active", "blocked", "removed"):
        raise VendError("status must be active, blocked or removed")
    meter = find_meter(conn, pan)
    conn.execute(update(schema.meters).where(schema.meters.c.id == meter["id"]).values(status=status))
    return meter


def meter_history(conn, meter_id):
    ma, c = schema.meter_assignments, schema.customers
    return [dict(r) for r in conn.execute(
        select(c.c.account, c.c.name, ma.c.from_at, ma.c.to_at).join(c, c.c.id == ma.c.customer_id)
        .where(ma.c.meter_id == meter_id).order_by(ma.c.from_at)).mappings()]


def count_rows(conn, table):
    return conn.execute(select(func.count()).select_from(table)).scalar()
