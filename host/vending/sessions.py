"""The vending server's sessions: an operator logs in with their password and gets a
token that stands for them until it expires, they log in again, log out, or are disabled.

Kept in the database (``operator_sessions``), so a restart of the server logs nobody out
and several server processes on one database share them. One row per operator: a new
login replaces the old token. The token is 256 random bits and only its SHA-256 is
stored (a slow hash adds nothing to a secret that long), so a copy of the database or a
backup opens no session. Every request reads the session with the operator's row, so a
disable, a role change or the end of an approval counts at once.
"""
import datetime
import hashlib
import secrets

from sqlalchemy import delete, insert, select

from host.vending import schema
from host.vending.db import begin_write

SESSION_SECONDS = 8 * 3600


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def revoke(conn, operator_id):
    """End the operator's session inside the caller's transaction (a disable does)."""
    conn.execute(delete(schema.operator_sessions).where(schema.operator_sessions.c.operator_id == operator_id))


class Sessions:
    def __init__(self, station, seconds=SESSION_SECONDS):
        self.station, self.seconds = station, seconds

    def open(self, operator, address=None):
        """A new token for ``operator`` (a row); their previous one stops working."""
        token = secrets.token_urlsafe(32)
        now = self.station.clock()
        with begin_write(self.station.engine) as conn:
            revoke(conn, operator["id"])
            conn.execute(insert(schema.operator_sessions).values(
                operator_id=operator["id"], token_hash=token_hash(token), opened_at=now,
                expires_at=now + datetime.timedelta(seconds=self.seconds),
                address=str(address)[:120] if address else None))
        return token

    def operator(self, token):
        """The operator row the token stands for; None if unknown, replaced, revoked or expired."""
        s, o = schema.operator_sessions, schema.operators
        with self.station.engine.connect() as conn:
            row = conn.execute(select(o, s.c.expires_at).join(s, s.c.operator_id == o.c.id)
                               .where(s.c.token_hash == token_hash(token))).mappings().first()
        if row is None or self.station.clock() >= row["expires_at"]:
            return None
        row = dict(row)
        del row["expires_at"]
        return row

    def revoke(self, operator_id):
        with begin_write(self.station.engine) as conn:
            revoke(conn, operator_id)
