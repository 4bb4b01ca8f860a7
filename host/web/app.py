"""The web console's app: mounted into the vending server's own FastAPI app (same
process, station, custody, audit trail), with its pages, static files and languages.

``mount(app, providers)`` adds the pages to an app made by ``host.vending.server.create_app``;
``create_app(station, ...)`` makes both. Pages render Jinja2 templates (autoescaped) and
call ``host.vending`` for everything they do; what an operator may do is the operation
table's role (``host.vending.api``), checked again before each call.
"""
import os
import secrets

from host.vending import api, callbacks, operators
from host.vending.errors import LoginThrottled, PermissionDenied, VendError
from host.web import auth, i18n

HERE = os.path.dirname(os.path.abspath(__file__))
LOGIN_CSRF_COOKIE = "prepay_login_csrf"
# Pages load only this server's scripts (no inline script anywhere), are never framed,
# cached or sniffed as another type.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


class Forbidden(Exception):
    """The operation needs more than the page's role (a clerk's page, a supervisor's button)."""


class Web:
    """What every page needs: the station, the templates and the sessions."""

    def __init__(self, station, sessions, providers=(), secure_cookies=False):
        import jinja2
        self.station, self.sessions, self.secure_cookies = station, sessions, secure_cookies
        self.providers = {p.name: p for p in providers}
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(HERE, "templates")),
                                            autoescape=True)

    def formats(self, request):
        return i18n.Formats(i18n.choose(request.cookies.get("lang"), request.headers.get("accept-language")))

    def render(self, request, template, status=200, user=None, **context):
        from fastapi.responses import HTMLResponse
        fmt = self.formats(request)
        page = self.templates.get_template(template).render(
            _=fmt.gettext, fmt=fmt, user=user, csrf=user["csrf"] if user else "", languages=i18n.LANGUAGES,
            request_path=request.url.path, error=context.pop("error", None), notice=context.pop("notice", None),
            **context)
        response = HTMLResponse(page, status_code=status)
        response.headers.update(PAGE_HEADERS)
        return response

    def run(self, actor, operation, /, **params):
        """An operation of the table as the API runs it, with its role checked (bad
        parameters come back as api.call words them: one VendError, never the input)."""
        try:
            operators.require(actor, api.OPERATIONS[operation].role)
        except PermissionDenied as exc:     # the page's own role was less: 403, not a form error
            raise Forbidden(str(exc))
        return api.call(self.station, actor, operation, params)

    def local(self, utc):
        return self.station.local(utc) if utc is not None else None

    def set_cookie(self, response, name, value, max_age=None):
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                            secure=self.secure_cookies, path="/")

    def login_form(self, request, template, status=200, **context):
        """A login page with its own CSRF token (a double-submit cookie: there is no session yet)."""
        token = secrets.token_urlsafe(32)
        response = self.render(request, template, status=status, login_csrf=token, **context)
        self.set_cookie(response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    def log_in(self, request, form, template, authenticate, kind, cookie, home):
        """The POST of a login form, for operators and customers alike: ``authenticate(form,
        address)`` returns the row or raises VendError (LoginThrottled: 429)."""
        if not self.login_csrf_ok(request, form):
            return self.login_form(request, template, status=403, error="the form was stale; try again")
        address = request.client.host if request.client else None
        try:
            row = authenticate(form, address)
        except VendError as exc:
            status = 429 if isinstance(exc, LoginThrottled) else 401
            return self.login_form(request, template, status=status, error=str(exc))
        from fastapi.responses import RedirectResponse
        response = RedirectResponse(home, status_code=303)
        self.set_cookie(response, cookie, self.sessions.open(kind, row["id"]))
        return response

    def log_out(self, kind, subject_id, cookie, login_page):
        from fastapi.responses import RedirectResponse
        self.sessions.close(kind, subject_id)
        response = RedirectResponse(login_page, status_code=303)
        response.delete_cookie(cookie, path="/")
        return response

    def login_csrf_ok(self, request, form):
        import hmac
        cookie, sent = request.cookies.get(LOGIN_CSRF_COOKIE) or "", form.get("csrf") or ""
        return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


def create_app(station, providers=(), session_seconds=auth.SESSION_SECONDS, secure_cookies=False):
    """The vending server's app with the web console mounted."""
    from host.vending import server
    app = server.create_app(station)
    mount(app, providers, session_seconds, secure_cookies)
    return app


def mount(app, providers=(), session_seconds=auth.SESSION_SECONDS, secure_cookies=False):
    from fastapi.responses import HTMLResponse, RedirectResponse
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException
    from host.web import pages_accounts, pages_counter, pages_customer, pages_online, pages_reports

    web = Web(app.state.station, auth.BrowserSessions(app.state.station, session_seconds), providers,
              secure_cookies)
    app.state.web, app.state.web_sessions = web, web.sessions
    app.mount("/web/static", StaticFiles(directory=os.path.join(HERE, "static")), name="web-static")

    @app.exception_handler(auth.LoginNeeded)
    def _login_needed(request, exc):
        target = "/web/login" if exc.kind == "operator" else "/my/login"
        if request.method == "GET" and not request.headers.get("hx-request"):
            return RedirectResponse(target, status_code=303)
        return HTMLResponse("log in first", status_code=401, headers={"HX-Redirect": target})

    @app.exception_handler(callbacks.Forged)
    def _forged(request, exc):
        from fastapi.responses import JSONResponse
        return JSONResponse({"error": str(exc)}, status_code=401)

    @app.exception_handler(auth.CsrfRefused)
    def _csrf(request, exc):
        return HTMLResponse("refused: this form is stale or not from this site (CSRF); reload the page",
                            status_code=403)

    previous_denied = app.exception_handlers.get(PermissionDenied)

    def _denied(request, exc):
        if request.url.path.startswith(("/web", "/my")):
            return web.render(request, "error.html", status=403, error=str(exc))
        return previous_denied(request, exc)
    app.add_exception_handler(PermissionDenied, _denied)

    app.add_exception_handler(Forbidden, lambda request, exc: web.render(request, "error.html", status=403,
                                                                         error=str(exc)))

    previous_http = app.exception_handlers.get(HTTPException)

    async def _http(request, exc):
        if request.url.path.startswith(("/web", "/my")) and exc.status_code == 404:
            return web.render(request, "error.html", status=404, error="no such page")
        return await previous_http(request, exc)
    app.add_exception_handler(HTTPException, _http)

    @app.get("/web/lang/{code}", include_in_schema=False)
    def language(code: str, back: str = "/web/"):
        target = back if back.startswith(("/web", "/my")) and "//" not in back else "/web/"
        response = RedirectResponse(target, status_code=303)
        if code in i18n.LANGUAGES:
            response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax", path="/")
        return response

    for pages in (pages_counter, pages_accounts, pages_reports, pages_online, pages_customer):
        pages.add(app, web)
    return app


def serve(station, host="127.0.0.1", port=8480, ready=None, tls_cert=None, tls_key=None,
          session_seconds=auth.SESSION_SECONDS, providers=()):
    """The vending server with the web console, until interrupted (port 0: any free port)."""
    from host.vending import server

    def with_web(app):
        return mount(app, providers, session_seconds, secure_cookies=bool(tls_cert))
    server.serve(station, host, port, ready, tls_cert, tls_key, session_seconds, extend=with_web)
