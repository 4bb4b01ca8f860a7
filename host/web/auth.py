"""Browser sessions for the web console: who is logged in, with which role, and the CSRF
token every state-changing form carries.

A session is a random cookie value (HttpOnly, SameSite=Strict, Secure under TLS) whose
SHA-256 the database maps to an operator or a customer until it expires (a restart logs
nobody out); its CSRF token is derived from the cookie; a new login closes that
person's earlier browser session. Operators log in through
``office.login`` (the server's password check, throttling and audit trail), customers
through ``selfservice.login``. Every request reads the operator's row again, so a
disable or role change counts at once, as on the API.

Each page declares the least role it needs with ``need(kind, role)``; the dependency
carries that role (``check.role``) so the route-by-role table is made from the app's own
routes (``route_roles``). A POST also needs the session's CSRF token, as the form field
``csrf`` or the header ``X-CSRF-Token`` (htmx sends it), compared in constant time.
"""
import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import delete, insert, select

from host.vending import operators, schema
from host.vending.db import begin_write

OPERATOR_COOKIE = "prepay_operator"
CUSTOMER_COOKIE = "prepay_customer"
SESSION_SECONDS = 8 * 3600
CUSTOMER_SESSION_SECONDS = 30 * 60


@dataclass
class Session:
    kind: str            # "operator" | "customer"
    subject_id: int
    csrf: str


def _hash(token):
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_of(token):
    """The session's CSRF token: derived from the cookie (which a page from elsewhere cannot
    read), so the database holds neither."""
    return hashlib.sha256(b"prepay-csrf\0" + token.encode("utf-8", "surrogatepass")).hexdigest()


class BrowserSessions:
    """Sessions in the database (``browser_sessions``: the cookie's SHA-256), one per
    operator or customer; a restart or another server process on the database keeps them."""

    def __init__(self, station, seconds=SESSION_SECONDS, customer_seconds=CUSTOMER_SESSION_SECONDS):
        self.station = station
        self.seconds = {"operator": seconds, "customer": customer_seconds}

    def open(self, kind, subject_id):
        token = secrets.token_urlsafe(32)
        b = schema.browser_sessions
        now = self.station.clock()
        with begin_write(self.station.engine) as conn:
            conn.execute(delete(b).where(b.c.kind == kind, b.c.subject_id == subject_id))
            conn.execute(insert(b).values(token_hash=_hash(token), kind=kind, subject_id=subject_id,
                                          expires_at=now + datetime.timedelta(seconds=self.seconds[kind])))
        return token

    def get(self, token, kind):
        if not token:
            return None
        b = schema.browser_sessions
        with self.station.engine.connect() as conn:
            row = conn.execute(select(b.c.subject_id, b.c.expires_at)
                               .where(b.c.token_hash == _hash(token), b.c.kind == kind)).first()
        if row is None or self.station.clock() >= row.expires_at:
            return None
        return Session(kind, row.subject_id, csrf_of(token))

    def close(self, kind, subject_id):
        b = schema.browser_sessions
        with begin_write(self.station.engine) as conn:
            conn.execute(delete(b).where(b.c.kind == kind, b.c.subject_id == subject_id))


class LoginNeeded(Exception):
    """No usable session: a page goes to the login form, an htmx or POST request gets 401."""

    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token."""


async def form_data(request: Request):
    """The posted form as a dict of strings (read once, before the page runs in a thread)."""
    if request.method != "POST":
        return {}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def operator_row(station, operator_id):
    with station.engine.connect() as conn:
        row = conn.execute(select(schema.operators).where(schema.operators.c.id == operator_id)).mappings().first()
    return dict(row) if row else None


def customer_row(station, customer_id):
    c = schema.customers
    with station.engine.connect() as conn:
        row = conn.execute(select(c.c.id, c.c.account, c.c.name).where(c.c.id == customer_id)).mappings().first()
    return dict(row) if row else None


def need(kind, role, Depends, Request):
    """A dependency: the logged-in operator (at least ``role``) or customer, as a dict with
    the session's ``csrf``; for a POST, the CSRF token checked first."""
    cookie = OPERATOR_COOKIE if kind == "operator" else CUSTOMER_COOKIE

    def check(request: Request, form: dict = Depends(form_data)):
        app = request.app
        session = app.state.web_sessions.get(request.cookies.get(cookie), kind)
        if session is None:
            raise LoginNeeded(kind)
        if request.method == "POST":
            sent = form.get("csrf") or request.headers.get("x-csrf-token") or ""
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                raise CsrfRefused()
        station = app.state.station
        if kind == "operator":
            row = operator_row(station, session.subject_id)
            if row is None or not operators.usable(row, station.clock()):
                app.state.web_sessions.close(kind, session.subject_id)
                raise LoginNeeded(kind)
            operators.require(row, role)
        else:
            row = customer_row(station, session.subject_id)
            if row is None:
                raise LoginNeeded(kind)
        row["csrf"], row["form"] = session.csrf, form
        return row
    check.role = role if kind == "operator" else kind
    return check


def route_roles(app, prefixes=("/web", "/my", "/pay")):
    """(method, path, role) of every web route from the app's own list; role None: open
    (login forms, static files, the language switch), ``customer``, ``provider`` (a signed
    callback) or an operator's least role."""
    from fastapi.routing import APIRoute
    rows = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(prefixes):
            continue
        role = None
        if isinstance(route, APIRoute):
            role = next((d.call.role for d in route.dependant.dependencies if hasattr(d.call, "role")),
                        getattr(route.endpoint, "role", None))
            methods = sorted(route.methods)
        else:
            methods = ["GET"]
        rows.extend((method, path, role) for method in methods)
    return sorted(rows, key=lambda r: (r[1], r[0]))
