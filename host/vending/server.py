"""The vending server (``prepay vend serve``): one process that holds the database URL and
the unlocked keystore, and the only door through which operators act.

An operator logs in with their password (``POST /api/login``) and gets a session token
that expires (8 hours by default); a new login revokes their previous token, and so does
disabling them. Sessions are kept in the database (``host.vending.sessions``: the token's
hash only), so a restart logs nobody out, and every request reads the operator's row
with its session, so a disable or role change made on the server machine's CLI counts
at once. Each route is made from one entry of
``host.vending.api.OPERATIONS`` and refuses a caller without a valid token (401) or
without the entry's role (403) before anything runs; the acting operator is always the
token's, never a field of the request. Logging in is ``office.login`` with the client's
address: failed logins are audited and throttled per operator name and per address there
(in the database, so local mode and every server process share the count).

FastAPI (OpenAPI at ``/docs`` and ``/openapi.json``) on uvicorn; the web console will be
served by the same app.
"""
import json
import socket
from typing import Annotated, Optional

from pydantic import BaseModel, SecretStr

from host.vending import api, office, operators
from host.vending.errors import LoginThrottled, PermissionDenied, VendError, database_error
from host.vending.group_commit import GroupCommit
from host.vending.sessions import SESSION_SECONDS, Sessions


class Login(BaseModel):
    operator: str
    password: SecretStr


class Refused(Exception):
    """An HTTP refusal with the one line a client prints."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.headers = status, headers


def create_app(station, sessions=None):
    from fastapi import Depends, FastAPI, Query, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response, StreamingResponse
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from sqlalchemy.exc import DBAPIError

    sessions = sessions or Sessions(station)
    bearer = HTTPBearer(auto_error=False, description="the token from POST /api/login")
    app = FastAPI(title="Prepay vending server", version="1",
                  description="Every vending operation of `prepay vend`, for authenticated operators.")
    app.state.station, app.state.sessions = station, sessions

    def refusal(status, message, headers=None):
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    app.add_exception_handler(Refused, lambda r, e: refusal(e.status, str(e), e.headers))
    app.add_exception_handler(PermissionDenied, lambda r, e: refusal(403, str(e)))
    app.add_exception_handler(VendError, lambda r, e: refusal(400, str(e)))
    app.add_exception_handler(DBAPIError, lambda r, e: refusal(409, database_error(e)))

    @app.exception_handler(RequestValidationError)
    def _invalid(request, exc):      # never the input back: it may be a password or a key
        return refusal(422, api.invalid_request(exc.errors(), skip=1))

    def need(role):
        def check(credentials: Annotated[Optional[HTTPAuthorizationCredentials], Depends(bearer)]):
            if credentials is None:
                raise Refused(401, "log in first: this needs an operator's session token")
            row = sessions.operator(credentials.credentials)
            if row is None or not operators.usable(row, station.clock()):
                if row is not None:
                    sessions.revoke(row["id"])
                raise Refused(401, "the session token is unknown, expired or revoked: log in again")
            operators.require(row, role)
            return row
        check.role = role
        return check

    @app.post("/api/login", summary="log in: a session token for the operator (revokes their previous one)")
    def login(body: Login, request: Request):
        address = request.client.host if request.client else None
        try:
            row = office.login(station, body.operator, body.password.get_secret_value(), address=address)
        except PermissionDenied:
            raise
        except VendError as exc:
            raise Refused(429 if isinstance(exc, LoginThrottled) else 401, str(exc))
        token = sessions.open(row, address)
        return {"token": token, "operator": row["name"], "role": row["role"], "expires_in_s": sessions.seconds}

    @app.post("/api/logout", summary="end this session")
    def logout(actor: Annotated[dict, Depends(need(operators.ANY))]):
        sessions.revoke(actor["id"])
        return {"operator": actor["name"], "logged_out": True}

    for op in api.OPERATIONS.values():
        _route(app, op, need(op.role), Depends, Query, Response, StreamingResponse)
    return app


def _route(app, op, check, Depends, Query, Response, StreamingResponse):
    """One route for one operation: parameters as the operation's model (a JSON body for a
    POST, the query string for a GET), the actor from the token."""
    station = app.state.station
    model = Annotated[op.params, Query()] if op.method == "GET" else op.params

    def endpoint(params: model, actor: Annotated[dict, Depends(check)]):
        result = op.run(station, actor, params)
        if op.stream:
            return StreamingResponse(_ndjson(result), media_type="application/x-ndjson")
        return Response(json.dumps(result, default=api.json_value), media_type="application/json")

    endpoint.__name__ = op.name
    app.add_api_route(op.path, endpoint, methods=[op.method], name=op.name,
                      summary="%s (%s)" % (op.name.replace("_", " "), op.role),
                      openapi_extra={"x-role": op.role})


def _ndjson(results):
    """One JSON line per result; an error after the first line is the last line."""
    from sqlalchemy.exc import DBAPIError
    try:
        for item in results:
            yield json.dumps(item, default=api.json_value) + "\n"
    except VendError as exc:
        yield json.dumps({"error": str(exc)}) + "\n"
    except DBAPIError as exc:
        yield json.dumps({"error": database_error(exc)}) + "\n"


def route_roles(app):
    """(method, path, role) of every route: from the app's own list, so none is left out.
    Routes without a role are the login and the API's description."""
    from fastapi.routing import APIRoute
    rows = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        role = next((d.call.role for d in route.dependant.dependencies if hasattr(d.call, "role")), None)
        for method in sorted(route.methods):
            rows.append((method, route.path, role))
    return sorted(rows, key=lambda r: (r[1], r[0]))


def serve(station, host="127.0.0.1", port=8470, ready=None, tls_cert=None, tls_key=None,
          session_seconds=SESSION_SECONDS, extend=None):
    """Bind, call ``ready(url)`` and serve until interrupted (port 0: any free port);
    ``extend(app)`` adds more to the app first (the web console, ``host.web.app``)."""
    import uvicorn
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)     # accepted sockets inherit it
    sock.bind((host, port))
    sock.listen(256)
    bound = sock.getsockname()[1]
    station.group_commit = GroupCommit(station)     # sales arriving together commit together
    app = create_app(station, Sessions(station, session_seconds))
    if extend is not None:
        extend(app)
    config = uvicorn.Config(app, log_level="warning", access_log=False, ssl_certfile=tls_cert,
                            ssl_keyfile=tls_key, timeout_keep_alive=30)
    url = "%s://%s:%d" % ("https" if tls_cert else "http", "[%s]" % host if family == socket.AF_INET6 else host,
                          bound)
    if ready:
        ready(url)
    uvicorn.Server(config).run(sockets=[sock])


def route_table(routes):
    """The route-by-role table as docs/vending.md shows it (a test keeps the two equal)."""
    lines = ["| method | route | least role |", "|---|---|---|"]
    lines += ["| %s | `%s` | %s |" % (m, p, role or "none (gives the token)") for m, p, role in routes]
    return "\n".join(lines) + "\n"
