"""Operators: roles, password hashes, approval of privileged accounts, login throttling.

Roles rank clerk < supervisor < admin: an admin may do what a supervisor may. Beside
them, a technician provisions and commissions meters (``prepay provision meter``) and
may do nothing else: no sale, adjustment, token, tariff or customer; a supervisor or
admin may commission too. An operation needing ``any`` role is open to every operator
who logged in (logging in and out). Passwords
are stored as scrypt hashes at OWASP's strength (N=2^17, r=8, p=1; the parameters are
kept in each hash, so raising them later leaves old hashes readable). Hashing and
checking take a fraction of a second on purpose: callers do it outside any transaction.

A supervisor or admin account works from ``approved_at`` on: a second admin's approval,
or on a one-admin station the end of a waiting period (``settings.approval_wait_s``).

Failed logins are counted per operator name (and per client address, for the server):
after ``FREE_FAILURES`` in a row, each further attempt waits ``BLOCK_S`` seconds, doubling
up to ``MAX_BLOCK_S``. A successful login clears the operator's count.
"""
import datetime
import hmac
import os

from sqlalchemy import delete, insert, select, update

from host.vending import schema
from host.vending.errors import PermissionDenied, VendError

RANKED = ("clerk", "supervisor", "admin")
ROLES = RANKED + ("technician",)
# Accounts a second admin approves (or that wait): they change money or settings, or, a
# technician's, receive the meters' keys to write them into the meters.
PRIVILEGED = ("supervisor", "admin", "technician")
ANY = "any"
COMMISSIONERS = ("technician", "supervisor", "admin")
SCRYPT = {"n": 2 ** 17, "r": 8, "p": 1}
FREE_FAILURES = 5
BLOCK_S = 60
MAX_BLOCK_S = 3600
DEFAULT_APPROVAL_WAIT_S = 24 * 3600


def hash_password(password, params=None):
    from host.vending.keystore import scrypt
    params = params or SCRYPT
    salt = os.urandom(16)
    digest = scrypt(password, salt, params)
    return "scrypt$%d$%d$%d$%s$%s" % (params["n"], params["r"], params["p"], salt.hex(), digest.hex())


def check_password(password, stored):
    from host.vending.keystore import scrypt
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        params = {"n": int(n), "r": int(r), "p": int(p)}
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = scrypt(password, bytes.fromhex(salt), params)
    return hmac.compare_digest(got.hex(), digest)


_DUMMY_HASH = None


def burn_time(password):
    """Check ``password`` against a throw-away hash: an unknown name costs what a known one does."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not a password")
    check_password(password, _DUMMY_HASH)


def role_at_least(role, wanted):
    """Whether an operator with ``role`` may do what needs the least role ``wanted``."""
    if wanted == ANY:
        return role in ROLES
    if wanted == "technician":
        return role in COMMISSIONERS
    return role in RANKED and RANKED.index(role) >= RANKED.index(wanted)


def check_name(name):
    bare = (name or "").replace("-", "").replace("_", "").replace(".", "")
    if not bare or len(name) > 64 or not (bare.isascii() and bare.isalnum()):
        raise VendError("operator name %r: use letters, digits, '-', '_' or '.'" % name)
    return name


def check_new_password(password):
    if not password or len(password) < 8:
        raise VendError("operator password must have at least 8 characters")


def add(conn, name, role, password, now, password_hash=None, created_by=None, approved_by="-",
        approved_at=None):
    """Insert an operator. ``password_hash`` made beforehand (``hash_password``, outside the
    transaction) is preferred; ``password`` is hashed here otherwise. ``approved_at`` None
    with ``approved_by`` None: awaiting a second admin."""
    if role not in ROLES:
        raise VendError("role must be one of %s" % ", ".join(ROLES))
    check_name(name)
    if password_hash is None:
        check_new_password(password)
        password_hash = hash_password(password)
    if find(conn, name) is not None:
        raise VendError("operator %s already exists" % name)
    result = conn.execute(insert(schema.operators).values(
        name=name, role=role, password_hash=password_hash, active=1, created_at=now, created_by=created_by,
        approved_by=approved_by, approved_at=now if approved_by == "-" and approved_at is None else approved_at))
    return result.inserted_primary_key[0]


def find(conn, name):
    return conn.execute(select(schema.operators).where(schema.operators.c.name == name)).mappings().first()


def count(conn):
    return len(conn.execute(select(schema.operators.c.id)).all())


def usable(row, now):
    """Whether the account may log in now: enabled and approved (or its wait is over)."""
    return bool(row["active"]) and row["approved_at"] is not None and row["approved_at"] <= now


def usable_admins(conn, now):
    return [r["name"] for r in conn.execute(select(schema.operators).where(
        schema.operators.c.role == "admin", schema.operators.c.active == 1)).mappings() if usable(r, now)]


def authenticate(conn, name, password, wanted_role="clerk", now=None):
    """The operator row if name and password match, the account is usable and its role
    allows ``wanted_role``. No throttling and no audit entry: doors use ``office.login``."""
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    row = find(conn, name)
    if row is None:
        burn_time(password or "")
    if row is None or not check_password(password or "", row["password_hash"]) or not usable(row, now):
        raise VendError("operator %s: unknown name or wrong password" % name)
    require(row, wanted_role)
    return dict(row)


def require(operator, wanted_role):
    if not role_at_least(operator["role"], wanted_role):
        raise PermissionDenied("operator %s is a %s; this needs a %s" % (
            operator["name"], operator["role"], wanted_role))


def set_active(conn, name, active, **values):
    done = conn.execute(update(schema.operators).where(schema.operators.c.name == name)
                        .values(active=1 if active else 0, **values)).rowcount
    if not done:
        raise VendError("no operator %s" % name)


def listing(conn):
    o = schema.operators
    return [dict(r) for r in conn.execute(
        select(o.c.name, o.c.role, o.c.active, o.c.created_at, o.c.created_by, o.c.approved_by,
               o.c.approved_at).order_by(o.c.name)).mappings()]


# Throttling --------------------------------------------------------------------------------

def throttle_keys(name, address=None):
    keys = ["operator:%s" % name[:64]]
    if address:
        keys.append("address:%s" % str(address)[:120])
    return keys


def blocked_until(conn, keys, now):
    """The latest time any of ``keys`` is blocked until, if that is still ahead."""
    lf = schema.login_failures
    times = [t for t in conn.execute(select(lf.c.blocked_until).where(lf.c.key.in_(keys))).scalars()
             if t is not None and t > now]
    return max(times) if times else None


def record_failure(conn, keys, now):
    """Count one failed login against each key; returns ``(failures, blocked_until)`` of the
    first (the operator's)."""
    lf = schema.login_failures
    result = None
    for key in keys:
        row = conn.execute(select(lf).where(lf.c.key == key).with_for_update()
                           if conn.dialect.name != "sqlite" else select(lf).where(lf.c.key == key)).mappings().first()
        failures = (row["failures"] if row else 0) + 1
        until = None
        if failures >= FREE_FAILURES:
            until = now + datetime.timedelta(seconds=min(MAX_BLOCK_S, BLOCK_S * 2 ** (failures - FREE_FAILURES)))
        values = {"failures": failures, "last_at": now, "blocked_until": until}
        if row:
            conn.execute(update(lf).where(lf.c.key == key).values(**values))
        else:
            conn.execute(insert(lf).values(key=key, **values))
        if result is None:
            result = (failures, until)
    return result


def clear_failures(conn, name):
    conn.execute(delete(schema.login_failures).where(schema.login_failures.c.key == "operator:%s" % name))


def has_failures(conn, name):
    return conn.execute(select(schema.login_failures.c.key).where(
        schema.login_failures.c.key == "operator:%s" % name)).first() is not None
