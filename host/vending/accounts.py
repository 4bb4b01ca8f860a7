"""Changes to an open account: the customer's details and settlement day, and a meter's
tariff. Each is one transaction with its audit entry (what changed, before and after),
as every change at the station is; the web console's account and meter pages call them.
"""
from sqlalchemy import select, update

from host.vending import audit, operators, records, schema
from host.vending.db import lock_row
from host.vending.errors import VendError
from host.vending.text import field

DETAILS = {"name": "customer name", "address": "address", "phone": "phone number",
           "contact_person": "contact person", "id_number": "ID number"}


def update_customer(station, actor, account, settlement_day=None, **details):
    """New values for ``DETAILS`` fields (None: leave it; "" clears an optional one) and the
    settlement day (a supervisor's: it moves the customer's settlement period)."""
    operators.require(actor, "clerk")
    c = schema.customers.c
    values = {}
    for name, text in details.items():
        if name not in DETAILS:
            raise VendError("a customer has no field %s" % name)
        if text is not None:
            values[name] = field(text, getattr(c, name), DETAILS[name], required=name == "name")
    if settlement_day is not None:
        if not 1 <= settlement_day <= 28:
            raise VendError("settlement day must be 1..28 (every month has it)")
        values["settlement_day"] = settlement_day
    with station.begin() as conn:
        customer = records.find_customer(conn, account)
        before = dict(lock_row(conn, schema.customers, customer["id"]))
        changed = {k: v for k, v in values.items() if before[k] != v}
        if "settlement_day" in changed:
            operators.require(actor, "supervisor")
        if not changed:
            return {"account": account, "changed": {}}
        conn.execute(update(schema.customers).where(schema.customers.c.id == customer["id"]).values(**changed))
        audit.append(station, conn, station.clock(), actor["name"], "customer_edit", customer["account"],
                     {k: {"from": before[k], "to": v} for k, v in changed.items()},
                     rows=[(schema.customers, customer["id"])])
    return {"account": account, "changed": changed}


def change_tariff(station, actor, pan, tariff):
    """Put a meter on another tariff from its next sale on (a supervisor's change)."""
    operators.require(actor, "supervisor")
    with station.begin() as conn:
        meter = records.find_meter(conn, pan)
        new = records.find_tariff(conn, tariff)
        if new["id"] == meter["tariff_id"]:
            raise VendError("meter %s is already on tariff %s" % (meter["pan"], tariff))
        old = conn.execute(select(schema.tariffs.c.name).where(schema.tariffs.c.id == meter["tariff_id"])).scalar()
        conn.execute(update(schema.meters).where(schema.meters.c.id == meter["id"]).values(tariff_id=new["id"]))
        audit.append(station, conn, station.clock(), actor["name"], "meter_tariff", meter["pan"],
                     {"from": old, "to": new["name"]}, rows=[(schema.meters, meter["id"])])
    return {"meter": meter["pan"], "tariff": new["name"], "was": old}
