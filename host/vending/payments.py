"""Bank and mobile-money statements: vend every matched line exactly once.

CSV with a header row; columns (any order, extra columns ignored):

=========  ========  ===============================================================
column     required  meaning
=========  ========  ===============================================================
reference  yes       the statement's transaction id; unique within ``--source``
date       yes       ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM[:SS]``
account    yes       the payer's reference: a customer account number or a meter PAN
amount     yes       ``150.00`` or ``1,500.00`` (decimal point; no currency sign)
channel    no        bank | mobile | card | cash (default: bank)
=========  ========  ===============================================================

The file is UTF-8 (a BOM is fine) or UTF-16 with a BOM (``host.textfile``); values go
through the host's strict parser (``host.parse``). A customer account matches when the
customer has exactly one active meter. Each matched line becomes a sale whose reference
is ``pay:<source>:<reference>``, so the unique sale reference makes a second import (or a
crash and re-run) vend nothing twice; a line whose reference was vended before for
another account or amount is refused and the vended line stays as it was. Unmatched and
refused lines are recorded and reported, and tried again on the next import.

Each line is handled on its own (``import_lines`` yields each outcome as it is done, so a
token is shown the moment it is sold): typed text is checked (``text.field``) before
anything is written, and a line the station or the database refuses is reported while
the import goes on with the next.
"""
import csv
import io
import re

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError

from host import textfile
from host.parse import ParseError, date_time, money
from host.vending import schema, sales
from host.vending.errors import VendError, database_said
from host.vending.money import fmt_cents
from host.vending.records import CHANNELS
from host.vending.text import field

REQUIRED = ("reference", "date", "account", "amount")


def read_statement(path, text=None):
    """The statement's lines as dicts (lower-case column names, stripped cells, ``line``);
    ``text``: the file's text already read (as ``textfile.read`` reads it) by a client."""
    if text is None:
        text = textfile.read(path, "statement")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise VendError("statement %s lacks column(s): %s" % (path, ", ".join(missing)))
        rows = []
        for raw in reader:
            extra = [cell for cell in raw.pop(None, None) or [] if cell.strip()]
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            if not any(row.values()) and not extra:
                continue
            row["line"] = reader.line_num
            if extra:       # 12,50 unquoted is two cells: a decimal comma, or a shifted row
                row["error"] = ("the line has %d cell(s) more than the header; write amounts like 12.50 "
                                "and quote a cell that holds a comma" % len(extra))
            rows.append(row)
        return rows
    except csv.Error as exc:
        raise VendError("statement %s line %d: %s" % (path, reader.line_num, exc))


def _match(conn, account):
    """(pan, None) or (None, why not)."""
    digits = account.replace(" ", "")
    if re.fullmatch("[0-9]{18}", digits):
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


def _vended_before(conn, source, ref, account, amount_cents):
    """Whether this (source, reference) was vended: False, True for the same account and
    amount (a re-import), or ``VendError`` naming the conflict."""
    p = schema.payments
    done = conn.execute(select(p.c.account_ref, p.c.amount_cents, p.c.sale_id)
                        .where(p.c.source == source, p.c.line_ref == ref, p.c.status == "vended")).first()
    if done is None:
        return False
    if (done.account_ref, done.amount_cents) != (account, amount_cents):
        raise VendError("reference %s was vended before for account %s, amount %s (receipt %s); this line "
                        "says account %s, amount %s: refused" % (ref, done.account_ref, fmt_cents(done.amount_cents),
                                                                 done.sale_id, account, fmt_cents(amount_cents)))
    return True


def import_lines(station, operator, path, source, text=None):
    """Vend a statement line by line, each in its own transactions: yields ``(status,
    entry)`` as each line is done (``vended``, ``skipped``, ``unmatched`` or ``failed``,
    the entry saying why), so that the caller can show a token the moment it is sold. A
    line that fails, for whatever reason the station or the database gives, is reported
    and the next line is tried; a re-run picks up what did not get done."""
    source = field(source, schema.payments.c.source, "statement source")
    seen = set()
    for row in read_statement(path, text):
        entry = {"line": row["line"], "reference": row["reference"], "account": row["account"],
                 "amount": row["amount"]}
        try:
            outcome = _import_line(station, operator, source, row, entry, seen)
        except (ParseError, VendError) as exc:
            outcome = "failed", dict(entry, note=str(exc))
        except DBAPIError as exc:
            outcome = "failed", dict(entry, note="the database refused this line: %s" % database_said(exc))
        yield outcome


def _import_line(station, operator, source, row, entry, seen):
    ref = row["reference"]
    if not ref or ref in seen:
        return "failed", dict(entry, note="missing or repeated reference in this file")
    seen.add(ref)
    if row.get("error"):
        raise VendError(row["error"])
    field(ref, schema.payments.c.line_ref, "reference")
    field(row["account"], schema.payments.c.account_ref, "account")
    amount_cents = money(row["amount"])
    paid_at = date_time(row["date"], "date", time_optional=True)
    channel = (row.get("channel") or "bank").lower()
    return vend_payment(station, operator, source, row, amount_cents, paid_at, channel, entry)


def vend_payment(station, operator, source, row, amount_cents, paid_at, channel, entry):
    """Vend one checked payment (``row``: its ``reference`` and ``account``) once: a
    statement's line, or a payment provider's callback (``host.vending.callbacks``).
    Returns ``(status, entry)`` as ``import_lines`` yields them."""
    if channel not in CHANNELS:
        raise VendError("channel %r is not one of %s" % (channel, ", ".join(CHANNELS)))
    ref = row["reference"]
    with station.engine.connect() as conn:
        if _vended_before(conn, source, ref, row["account"], amount_cents):
            return "skipped", entry
        pan, why = _match(conn, row["account"])
    if pan is None:
        _record(station, source, row, amount_cents, paid_at, channel, "unmatched", why, None)
        return "unmatched", dict(entry, note=why)
    try:
        sale = sales.sell(station, operator, pan, amount_cents, channel, reference="pay:%s:%s" % (source, ref))
    except VendError as exc:
        _record(station, source, row, amount_cents, paid_at, channel, "failed", str(exc), None)
        return "failed", dict(entry, note=str(exc))
    if sale.get("duplicate"):         # sold by a run that stopped before recording the line
        outcome = "skipped", dict(entry, receipt=sale["receipt"])
    else:
        outcome = "vended", dict(entry, meter=pan, receipt=sale["receipt"],
                                 tokens=[t["formatted"] for t in sale["tokens"]], sale=sale)
    try:                              # the sale has committed: from here on nothing may hide it
        _record(station, source, row, amount_cents, paid_at, channel, "vended", None, sale["receipt"])
    except DBAPIError as exc:
        outcome[1]["note"] = "sold; the line was not marked done (%s), the next import marks it" % database_said(exc)
    return outcome


def new_summary(source):
    return {"source": source, "lines": 0, "vended": [], "skipped": [], "unmatched": [], "failed": []}


def tally(summary, status, entry):
    summary["lines"] += 1
    summary[status].append(entry)


def import_statement(station, operator, path, source):
    """The whole import at once: a summary with each line's outcome under its status."""
    summary = new_summary(source)
    for status, entry in import_lines(station, operator, path, source):
        tally(summary, status, entry)
    return summary
