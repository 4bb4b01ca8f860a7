"""The audit trail: an append-only hash chain of keyed entries that outlives its database.

Entry n stores ``hash = SHA-256(prev_hash || canonical JSON of its fields)`` with
``prev_hash`` the hash of entry n-1 (64 zeros for the first), and ``mac``, the HMAC of
that hash under the audit key, which the key custody holds and the database never does.
``audit_head`` holds the last id and hash, and is locked by every append so concurrent
writers extend one chain.

Each entry also records ``state``: the digest of every row its change left behind
(operators, customers and their debt, meters and their ``last_tid``, tariffs, vending
keys, adjustments, the keystore's settings). ``verify`` recomputes the chain and the MACs
and compares every such row with its last entry, and every sale with its entry, so an
edit made with the database's own tools shows. What the database alone cannot show, the
removal of the last entries or a chain rebuilt with the key, shows against a head kept
elsewhere: ``head`` printed (``prepay vend audit head``), or the checkpoints the station
appends to a file outside the database (``write_checkpoint``), checked by
``verify(heads=..., checkpoints=...)``.
"""
import hashlib
import json
import os

from sqlalchemy import bindparam, insert, select, update

from host.vending import schema
from host.vending.db import lock_row
from host.vending.errors import VendError
from host.vending.text import field

GENESIS = "0" * 64
CHECKPOINT_FILE = "prepay-audit-checkpoints.jsonl"

# The rows whose every change has an entry, and how a problem names one.
WATCHED = {
    "operators": lambda r: "operator %s" % r["name"],
    "customers": lambda r: "customer %s" % r["account"],
    "meters": lambda r: "meter %s" % r["pan"],
    "tariffs": lambda r: "tariff %s" % r["name"],
    "tariff_versions": lambda r: "tariff version %d" % r["id"],
    "vending_keys": lambda r: "vending key SGC %06d KRN %d" % (r["sgc"], r["krn"]),
    "adjustments": lambda r: "adjustment %d" % r["id"],
    "settings": lambda r: "setting %s" % r["key"],
}


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash, entry_id, at, operator, action, subject, payload_json, state_json=None):
    fields = canonical([entry_id, at.strftime("%Y-%m-%dT%H:%M:%S.%f"), operator, action, subject])
    text = prev_hash + fields + payload_json + ("\n" + state_json if state_json else "")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_mac(custody, digest):
    return custody.mac(b"prepay-audit-entry\0" + digest.encode())


def _primary(table):
    return list(table.primary_key.columns)[0]


def row_digest(table, row):
    return hashlib.sha256(canonical([table.name] + [row[c.name] for c in table.columns]).encode()).hexdigest()


def state_of(conn, rows):
    """``{"table:id": digest}`` of the rows ``[(table, id), ...]`` as they are now."""
    state = {}
    for table, row_id in rows:
        row = conn.execute(select(table).where(_primary(table) == row_id)).mappings().first()
        state["%s:%s" % (table.name, row_id)] = row_digest(table, row) if row else None
    return state


def append(station, conn, at, operator, action, subject, payload, rows=()):
    """Add one keyed entry at the end of the chain, inside the caller's transaction;
    ``rows``: the watched rows ``[(table, id), ...]`` this change wrote."""
    custody = station.custody()
    subject = field(str(subject), schema.audit_log.c.subject, "the audit entry's subject")
    head = lock_row(conn, schema.audit_head, 1)
    entry_id = head["last_id"] + 1
    payload_json = canonical(payload)
    state_json = canonical(state_of(conn, rows)) if rows else None
    at = at.replace(tzinfo=None)
    digest = entry_hash(head["last_hash"], entry_id, at, operator, action, subject, payload_json, state_json)
    conn.execute(_INSERT_ENTRY, {"id": entry_id, "at": at, "operator": operator, "action": action,
                                 "subject": subject, "payload": payload_json, "state": state_json,
                                 "prev_hash": head["last_hash"], "hash": digest,
                                 "mac": entry_mac(custody, digest)})
    conn.execute(_MOVE_HEAD, {"new_id": entry_id, "new_hash": digest})
    return entry_id


_INSERT_ENTRY = insert(schema.audit_log)
_MOVE_HEAD = (update(schema.audit_head).where(schema.audit_head.c.id == 1)
              .values(last_id=bindparam("new_id"), last_hash=bindparam("new_hash")))


def watched_rows(conn):
    """Every watched row ``(table, id)`` (for the entry that first keys a chain)."""
    found = []
    for name in WATCHED:
        table = schema.metadata.tables[name]
        found.extend((table, value) for value in conn.execute(select(_primary(table))).scalars())
    return found


def key_legacy_entries(station, conn):
    """Give the entries written before keyed audit (``mac`` NULL) their MAC, once the chain
    up to them checks out; returns how many. Run by ``init`` after the upgrade."""
    log = schema.audit_log
    legacy = conn.execute(select(log.c.id, log.c.hash).where(log.c.mac.is_(None)).order_by(log.c.id)).all()
    if not legacy:
        return 0
    problems = _chain_problems(conn, None, {})[0]
    if problems:
        raise VendError("the audit chain is damaged, so it cannot be keyed: %s" % problems[0])
    custody = station.custody()
    for entry_id, digest in legacy:
        conn.execute(update(log).where(log.c.id == entry_id).values(mac=entry_mac(custody, digest)))
    return len(legacy)


def sale_digest(sale, token_rows):
    """What a sale's audit entry vouches for: the money columns and its tokens."""
    fields = [sale["id"], sale["meter_id"], sale["amount_cents"], sale["debt_cents"],
              sale["service_cents"], sale["vat_cents"], sale["energy_cents"], sale["credit_value"],
              sorted([t["tid"] or 0, t["digits"]] for t in token_rows)]
    return hashlib.sha256(canonical(fields).encode()).hexdigest()


def head(conn):
    """The chain's last entry: ``{"id", "at", "hash", "mac"}``. Kept outside the database
    (printed as ``ID:HASH``, mailed, written down) it is what ``verify(heads=...)`` checks
    the chain against: entry ID must still have that hash."""
    log = schema.audit_log
    row = conn.execute(select(log.c.id, log.c.at, log.c.hash, log.c.mac)
                       .order_by(log.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else {"id": 0, "at": None, "hash": GENESIS, "mac": None}


def printable(h):
    return "%d:%s" % (h["id"], h["hash"])


def parse_head(text):
    """``ID:HASH`` (what ``audit head`` prints) or a bare 64-digit HASH -> (id or None, hash)."""
    entry, _, digest = text.strip().rpartition(":")
    digest = digest.lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise VendError("head %r must be ID:HASH or HASH (64 hex digits), as 'audit head' prints it" % text)
    if not entry:
        return None, digest
    from host.parse import integer
    return integer(entry, "the head's entry number"), digest


# Checkpoints ------------------------------------------------------------------------------

def _checkpoint_mac(custody, h):
    return custody.mac(("prepay-audit-checkpoint\0%d\0%s\0%s" % (h["id"], h["hash"], h["at"])).encode())


def checkpoint_path(target):
    return os.path.join(target, CHECKPOINT_FILE) if os.path.isdir(target) else target


def write_checkpoint(station, target):
    """Append the chain's head, keyed, as one JSON line to ``target`` (a file, or a folder
    that gets ``prepay-audit-checkpoints.jsonl``), opened append-only, mode 0600, synced.
    Returns the head written."""
    with station.engine.connect() as conn:
        h = head(conn)
    line = {"id": h["id"], "hash": h["hash"], "at": h["at"].isoformat() if h["at"] else None}
    line["mac"] = _checkpoint_mac(station.custody(), line)
    path = checkpoint_path(target)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (canonical(line) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise VendError("cannot append the audit checkpoint to %s: %s" % (path, exc.strerror))
    return line


def read_checkpoints(target):
    """The checkpoint lines of a file or folder written by ``write_checkpoint``."""
    from host.textfile import read
    path = checkpoint_path(target)
    found = []
    for number, text in enumerate(read(path, "checkpoint file").splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
            found.append({"id": int(line["id"]), "hash": str(line["hash"]), "at": line["at"],
                          "mac": str(line["mac"]), "line": number})
        except (ValueError, KeyError, TypeError):
            raise VendError("checkpoint file %s: line %d is not a checkpoint" % (path, number))
    return found


# Verification ------------------------------------------------------------------------------

def verify(conn, custody=None, heads=(), checkpoints=(), batch=5000):
    """The problems found (none: intact) and the entry count.

    Checks the chain, each entry's MAC (with ``custody``; without one, the MACs are not
    checked), every watched row and sale against its last entry, every exported head
    ``(id or None, hash)`` and every checkpoint (its own MAC, and its entry's hash)."""
    problems, expected = [], {}
    for entry_id, digest in heads:
        expected.setdefault(entry_id, []).append(("exported head", digest))
    for cp in checkpoints:
        if custody is not None and _checkpoint_mac(custody, cp) != cp["mac"]:
            problems.append("checkpoint line %d (entry %d) was not written with this station's audit key"
                            % (cp["line"], cp["id"]))
        expected.setdefault(cp["id"], []).append(("checkpoint of line %d" % cp["line"], cp["hash"]))
    chain_problems, last_id, sale_digests, states = _chain_problems(conn, custody, expected, batch)
    problems.extend(chain_problems)
    problems.extend(_verify_sales(conn, sale_digests))
    problems.extend(_verify_state(conn, states))
    return problems, last_id


def _chain_problems(conn, custody, expected, batch=5000):
    by_hash = {digest: what for what, digest in expected.pop(None, [])}
    problems = []
    prev_hash, expected_id, last_id, offset = GENESIS, 1, 0, 0
    sale_digests, states = {}, {}
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
                                row["subject"], row["payload"], row["state"])
            if digest != row["hash"]:
                problems.append("entry %d was altered (hash mismatch)" % row["id"])
            if custody is not None and (row["mac"] is None or entry_mac(custody, row["hash"]) != row["mac"]):
                problems.append("entry %d does not carry the audit key's MAC: written or rewritten without "
                                "the key" % row["id"])
            for what, wanted in expected.pop(row["id"], []):
                if wanted != row["hash"]:
                    problems.append("entry %d no longer has the hash of the %s: the chain was rewritten"
                                    % (row["id"], what))
            by_hash.pop(row["hash"], None)
            if row["action"] == "sale":
                sale_digests[int(row["subject"])] = json.loads(row["payload"]).get("digest")
            if row["state"]:
                for key, value in json.loads(row["state"]).items():
                    states[key] = (value, row["id"])
            prev_hash, expected_id, last_id = row["hash"], row["id"] + 1, row["id"]
        offset = rows[-1]["id"]
    h = conn.execute(select(schema.audit_head).where(schema.audit_head.c.id == 1)).mappings().first()
    if h is None or h["last_id"] != last_id or h["last_hash"] != prev_hash:
        problems.append("the chain's head does not match its last entry (entries removed at the end?)")
    for entry_id in sorted(expected):
        for what, _ in expected[entry_id]:
            problems.append("entry %d, the %s, is not in the chain (it has %d entries): entries were "
                            "removed at the end" % (entry_id, what, last_id))
    for what in by_hash.values():
        problems.append("the %s is not in the chain: entries were removed or rewritten" % what)
    return problems, last_id, sale_digests, states


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


def _verify_state(conn, states):
    """Every watched row as its last entry left it. Chains begun before state was recorded
    vouch for rows from their ``audit_keyed`` entry on."""
    problems = []
    for name, label in WATCHED.items():
        table = schema.metadata.tables[name]
        for row in conn.execute(select(table).order_by(_primary(table))).mappings():
            key = "%s:%s" % (name, row[_primary(table).name])
            recorded = states.pop(key, None)
            if recorded is None:
                problems.append("%s has no audit entry: written outside the station" % label(row))
            elif recorded[0] != row_digest(table, row):
                problems.append("%s differs from what audit entry %d recorded: changed outside the station"
                                % (label(row), recorded[1]))
    for key, (value, entry_id) in sorted(states.items()):
        if value is not None:
            problems.append("%s, recorded by audit entry %d, is no longer in the database" % (key, entry_id))
    return problems

