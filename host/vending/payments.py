"""Bank and mobile-money statements: vend every matched line exactly once.

CSV with a header row; columns (any order, extra columns ignored):

=========  ========  ===============================================================
column     required  meaning
=========  ========  ===============================================================
reference  yes       the statement's transaction id; unique within ``--source``
date       yes       ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM[:SS]``
account    yes       the payer's reference: a customer account number or a meter PAN
amount     yes       ``150.00`` (decimal point, no currency sign)
channel    no        bank | mobile | card | cash (default: bank)
=========  ========  ===============================================================

A customer account matches when the customer has exactly one active meter. Each matched
line becomes a sale whose reference is ``pay:<source>:<reference>``, so the unique sale
reference makes a second import (or a crash and re-run) vend nothing twice. Unmatched and
refused lines are recorded and reported, and tried again on the next import.
"""
import csv
import datetime

from sqlalchemy import insert, select, update

from host.vending import schema, sales
from host.vending.errors import VendError
from host.vending.money import cents
from host.vending.records import CHANNELS

REQUIRED = ("reference", "date", "account", "amount")


def _parse_date(text):
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(text.strip(), fmt)
        except ValueError:
            pass
    raise VendError("date %r is not YYYY-MM-DD[ HH:MM[:SS]]" % text)


def read_statement(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise VendError("statement %s lacks column(s): %s" % (path, ", ".join(missing)))
            rows = []
            for number, raw in enumerate(reader, start=2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
                if not any(row.values()):
                    continue
                row["line"] = number
                rows.append(row)
            return rows
    except OSError as exc:
        raise VendError("cannot read statement %s: %s" % (path, exc.strerror))


def _match(conn, account):
    """(pan, None) or (None, why not)."""
    digits = account.replace(" ", "")
    if len(digits) == 18 and digits.isdigit():
        meter = conn.execute(select(schema.meters.c.pan, schema.meters.c.status)
                             .where(schema.meters.c.pan == digits)).first()
        if meter is not None:
            return (meter.pan, None) if meter.status == "active" else (None, "meter is %s" % meter.status)
    customer = conn.execute(select(schema.customers.c.id).where(schema.customers.c.account == account)).scalar()
    if customer is None:
        return None, "no customer or meter with this reference"
    pans = conn.execute(select(schema.meters.c.pan).where(schema.meters.c.customer_id == customer,
                                                          schema.meters.c.status == "active")).scalars().all()
    if len(pans) != 1:
        return None, "customer has %d active meters; pay to a meter number" % len(pans)
    return pans[0], None


def _record(station, source, row, amount_cents, paid_at, channel, status, note, sale_id):
    p = schema.payments
    with station.begin() as conn:
        existing = conn.execute(select(p.c.id).where(p.c.source == source, p.c.line_ref == row["reference"])).scalar()
        values = dict(account_ref=row["account"], amount_cents=amount_cents, paid_at=paid_at, channel=channel,
                      status=status, note=note, sale_id=sale_id)
        if existing:
            conn.execute(update(p).where(p.c.id == existing).values(**values))
        else:
            conn.execute(insert(p).values(source=source, line_ref=row["reference"], **values))


def import_statement(station, operator, path, source):
    rows = read_statement(path)
    result = {"source": source, "lines": len(rows), "vended": [], "skipped": [], "unmatched": [], "failed": []}
    p = schema.payments
    seen = set()
    for row in rows:
        ref = row["reference"]
        entry = {"line": row["line"], "reference": ref, "account": row["account"], "amount": row["amount"]}
        if not ref or ref in seen:
            result["failed"].append(dict(entry, note="missing or repeated reference in this file"))
            continue
        seen.add(ref)
        with station.engine.connect() as conn:
            done = conn.execute(select(p.c.status).where(p.c.source == source, p.c.line_ref == ref)).scalar()
        if done == "vended":
            result["skipped"].append(entry)
            continue
        try:
            amount_cents = cents(row["amount"])
            paid_at = _parse_date(row["date"])
            channel = (row.get("channel") or "bank").lower()
            if channel not in CHANNELS:
                raise VendError("channel %r is not one of %s" % (channel, ", ".join(CHANNELS)))
        except VendError as exc:
            result["failed"].append(dict(entry, note=str(exc)))
            continue
        with station.engine.connect() as conn:
            pan, why = _match(conn, row["account"])
        if pan is None:
            _record(station, source, row, amount_cents, paid_at, channel, "unmatched", why, None)
            result["unmatched"].append(dict(entry, note=why))
            continue
        try:
            sale = sales.sell(station, operator, pan, amount_cents, channel, reference="pay:%s:%s" % (source, ref))
        except VendError as exc:
            _record(station, source, row, amount_cents, paid_at, channel, "failed", str(exc), None)
            result["failed"].append(dict(entry, note=str(exc)))
            continue
        _record(station, source, row, amount_cents, paid_at, channel, "vended", None, sale["receipt"])
        result["vended"].append(dict(entry, meter=pan, receipt=sale["receipt"],
                                     tokens=[t["formatted"] for t in sale["tokens"]], sale=sale))
    return result
