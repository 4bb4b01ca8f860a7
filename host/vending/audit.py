"""The append-only audit log with a hash chain.

Entry n stores ``hash = SHA-256(prev_hash || canonical JSON of its fields)`` with
``prev_hash`` the hash of entry n-1 (64 zeros for the first). ``audit_head`` holds the last
id and hash, and is locked by every append so concurrent writers extend one chain.
``verify`` recomputes the chain: an edited entry breaks its own hash, a deleted one breaks
the next entry's link (or the head), and entries must be numbered 1..n without gaps.
The ledger rows that entries describe (sales, tokens) are checked against their entries too.

Someone who can rewrite the whole database can rebuild a consistent chain; the head's
hash, exported elsewhere (``head``), is what catches that (``verify(anchors=...)``).
"""
import hashlib
import json

from sqlalchemy import bindparam, insert, select, update

from host.vending import schema
from host.vending.db import lock_row
from host.vending.text import field

GENESIS = "0" * 64


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash, entry_id, at, operator, action, subject, payload_json):
    fields = canonical([entry_id, at.strftime("%Y-%m-%dT%H:%M:%S.%f"), operator, action, subject])
    return hashlib.sha256((prev_hash + fields + payload_json).encode("utf-8")).hexdigest()


def append(conn, at, operator, action, subject, payload):
    """Add one entry at the end of the chain, inside the caller's transaction."""
    subject = field(str(subject), schema.audit_log.c.subject, "the audit entry's subject")
    head = lock_row(conn, schema.audit_head, 1)
    entry_id = head["last_id"] + 1
    payload_json = canonical(payload)
    at = at.replace(tzinfo=None)
    digest = entry_hash(head["last_hash"], entry_id, at, operator, action, subject, payload_json)
    conn.execute(_INSERT_ENTRY, {"id": entry_id, "at": at, "operator": operator, "action": action,
                                 "subject": subject, "payload": payload_json,
                                 "prev_hash": head["last_hash"], "hash": digest})
    conn.execute(_MOVE_HEAD, {"new_id": entry_id, "new_hash": digest})
    return entry_id


_INSERT_ENTRY = insert(schema.audit_log)
_MOVE_HEAD = (update(schema.audit_head).where(schema.audit_head.c.id == 1)
              .values(last_id=bindparam("new_id"), last_hash=bindparam("new_hash")))


def sale_digest(sale, token_rows):
    """What a sale's audit entry vouches for: the money columns and its tokens."""
    fields = [sale["id"], sale["meter_id"], sale["amount_cents"], sale["debt_cents"],
              sale["service_cents"], sale["vat_cents"], sale["energy_cents"], sale["credit_value"],
              sorted([t["tid"] or 0, t["digits"]] for t in token_rows)]
    return hashlib.sha256(canonical(fields).encode()).hexdigest()


def head(conn):
    """The chain's last entry: ``{"id", "at", "hash"}``. Kept outside the database (printed,
    mailed, written down), its hash is an anchor: ``verify(anchors={id: hash})`` then shows
    whether the chain up to that entry is still the one that was exported."""
    log = schema.audit_log
    row = conn.execute(select(log.c.id, log.c.at, log.c.hash).order_by(log.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else {"id": 0, "at": None, "hash": GENESIS}


def verify(conn, batch=5000, anchors=None):
    """A list of problems (empty if the chain and the sales it vouches for are intact, and
    every anchor ``{entry id: hash}`` exported earlier is still in it) and the entry count."""
    anchors = dict(anchors or {})
    problems = []
    prev_hash, expected_id = GENESIS, 1
    sale_digests = {}
    last_id = 0
    offset = 0
    log = schema.audit_log
    while True:
        rows = conn.execute(select(log).where(log.c.id > offset).order_by(log.c.id).limit(batch)).mappings().all()
        if not rows:
            break
        for row in rows:
            if row["id"] != expected_id:
                problems.append("entry %d is missing (next entry is %d)" % (expected_id, row["id"]))
            if row["prev_hash"] != prev_hash:
                problems.append("entry %d does not link to the entry before it" % row["id"])
            digest = entry_hash(row["prev_hash"], row["id"], row["at"], row["operator"], row["action"],
                                row["subject"], row["payload"])
            if digest != row["hash"]:
                problems.append("entry %d was altered (hash mismatch)" % row["id"])
            if row["id"] in anchors and anchors.pop(row["id"]) != row["hash"]:
                problems.append("entry %d no longer has the hash exported for it: the chain was rewritten"
                                % row["id"])
            if row["action"] == "sale":
                sale_digests[int(row["subject"])] = json.loads(row["payload"]).get("digest")
            prev_hash, expected_id, last_id = row["hash"], row["id"] + 1, row["id"]
        offset = rows[-1]["id"]
    head = conn.execute(select(schema.audit_head).where(schema.audit_head.c.id == 1)).mappings().first()
    if head is None or head["last_id"] != last_id or head["last_hash"] != prev_hash:
        problems.append("the chain's head does not match its last entry (entries removed at the end?)")
    for entry_id in sorted(anchors):
        problems.append("entry %d, exported as an anchor, is not in the chain" % entry_id)
    problems.extend(_verify_sales(conn, sale_digests))
    return problems, last_id


def _verify_sales(conn, sale_digests):
    problems = []
    tokens_by_sale = {}
    for t in conn.execute(select(schema.tokens.c.sale_id, schema.tokens.c.tid, schema.tokens.c.digits)
                          .where(schema.tokens.c.sale_id.is_not(None))).mappings():
        tokens_by_sale.setdefault(t["sale_id"], []).append(t)
    seen = set()
    for sale in conn.execute(select(schema.sales)).mappings():
        seen.add(sale["id"])
        expected = sale_digests.get(sale["id"])
        if expected is None:
            problems.append("sale %d has no audit entry" % sale["id"])
        elif expected != sale_digest(sale, tokens_by_sale.get(sale["id"], [])):
            problems.append("sale %d or its tokens differ from the audit entry" % sale["id"])
    for sale_id in sorted(set(sale_digests) - seen):
        problems.append("sale %d is in the audit log but not in the ledger" % sale_id)
    return problems
