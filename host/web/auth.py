"""Browser sessions for the web console: who is logged in, with which role, and the CSRF
token every state-changing form carries.

A session is a random cookie value (HttpOnly, SameSite=Strict, Secure under TLS) mapped in
the server's memory to an operator or a customer, with its own CSRF token and expiry; a
new login closes that person's earlier browser session. Operators log in through
``office.login`` (the server's password check, throttling and audit trail), customers
through ``selfservice.login``. Every request reads the operator's row again, so a
disable or role change counts at once, as on the API.

Each page declares the least role it needs with ``need(kind, role)``; the dependency
carries that role (``check.role``) so the route-by-role table is made from the app's own
routes (``route_roles``). A POST also needs the session's CSRF token, as the form field
``csrf`` or the header ``X-CSRF-Token`` (htmx sends it), compared in constant time.
"""
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select

from host.vending import operators, schema

OPERATOR_COOKIE = "prepay_operator"
CUSTOMER_COOKIE = "prepay_customer"
SESSION_SECONDS = 8 * 3600
CUSTOMER_SESSION_SECONDS = 30 * 60


@dataclass
class Session:
    kind: str            # "operator" | "customer"
    subject_id: int
    csrf: str
    expires: float


class BrowserSessions:
    def __init__(self, seconds=SESSION_SECONDS, customer_seconds=CUSTOMER_SESSION_SECONDS, clock=time.monotonic):
        self.seconds = {"operator": seconds, "customer": customer_seconds}
        self.clock = clock
        self._by_token, self._by_subject = {}, {}
        self._lock = threading.Lock()

    def open(self, kind, subject_id):
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._close((kind, subject_id))
            self._by_token[token] = Session(kind, subject_id, secrets.token_urlsafe(32),
                                            self.clock() + self.seconds[kind])
            self._by_subject[(kind, subject_id)] = token
        return token

    def get(self, token, kind):
        with self._lock:
            found = self._by_token.get(token or "")
            if found is None or found.kind != kind:
                return None
            if self.clock() >= found.expires:
                self._close((kind, found.subject_id))
                return None
            return found

    def close(self, kind, subject_id):
        with self._lock:
            self._close((kind, subject_id))

    def _close(self, subject):
        token = self._by_subject.pop(subject, None)
        self._by_token.pop(token, None)


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
