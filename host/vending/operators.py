"""Operators, their roles and password hashes (scrypt, per-password salt).

Roles rank clerk < supervisor < admin: an admin may do what a supervisor may.
"""
import hashlib
import hmac
import os

from sqlalchemy import insert, select, update

from host.vending import schema
from host.vending.errors import PermissionDenied, VendError

ROLES = ("clerk", "supervisor", "admin")
_SCRYPT = (2 ** 14, 8, 1)


def hash_password(password):
    n, r, p = _SCRYPT
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return "scrypt$%d$%d$%d$%s$%s" % (n, r, p, salt.hex(), digest.hex())


def check_password(password, stored):
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                         p=int(p), dklen=len(digest) // 2)
    return hmac.compare_digest(got.hex(), digest)


def role_at_least(role, wanted):
    return ROLES.index(role) >= ROLES.index(wanted)


def add(conn, name, role, password, now):
    if role not in ROLES:
        raise VendError("role must be one of %s" % ", ".join(ROLES))
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise VendError("operator name %r: use letters, digits, '-', '_' or '.'" % name)
    if not password or len(password) < 8:
        raise VendError("operator password must have at least 8 characters")
    if conn.execute(select(schema.operators.c.id).where(schema.operators.c.name == name)).first():
        raise VendError("operator %s already exists" % name)
    result = conn.execute(insert(schema.operators).values(
        name=name, role=role, password_hash=hash_password(password), active=1, created_at=now))
    return result.inserted_primary_key[0]


def count(conn):
    return len(conn.execute(select(schema.operators.c.id)).all())


def authenticate(conn, name, password, wanted_role="clerk"):
    """The operator row if name and password match and the role allows ``wanted_role``."""
    row = conn.execute(select(schema.operators).where(schema.operators.c.name == name)).mappings().first()
    if row is None or not row["active"] or not check_password(password or "", row["password_hash"]):
        raise VendError("operator %s: unknown name or wrong password" % name)
    require(row, wanted_role)
    return dict(row)


def require(operator, wanted_role):
    if not role_at_least(operator["role"], wanted_role):
        raise PermissionDenied("operator %s is a %s; this needs a %s" % (
            operator["name"], operator["role"], wanted_role))


def set_active(conn, name, active):
    done = conn.execute(update(schema.operators).where(schema.operators.c.name == name)
                        .values(active=1 if active else 0)).rowcount
    if not done:
        raise VendError("no operator %s" % name)


def listing(conn):
    return [dict(r) for r in conn.execute(
        select(schema.operators.c.name, schema.operators.c.role, schema.operators.c.active,
               schema.operators.c.created_at).order_by(schema.operators.c.name)).mappings()]
