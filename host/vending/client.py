"""A client of the vending server: the operator logs in with their own password and calls
the operations of ``host.vending.api`` by name, getting the same results (times decoded)
and the same refusals (``VendError``, ``PermissionDenied``) as a local call would give.

Over HTTPS the server's certificate is checked against ``cacert`` (a PEM file of the
station's own CA; default ``PREPAY_SERVER_CACERT``), else against the system's trusted
CAs; an unverified server never receives a password.
"""
import json
import os

from host.vending import api
from host.vending.errors import PermissionDenied, VendError


class Client:
    def __init__(self, url, timeout=120.0, cacert=None):
        import socket
        import httpx
        self.url = url.rstrip("/")
        verify = _verify(self.url, cacert or os.environ.get("PREPAY_SERVER_CACERT") or None)
        # small requests go out at once (with Nagle a request's second segment waits for
        # the server's delayed ACK: ~40 ms a call)
        nodelay = httpx.HTTPTransport(verify=verify, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=nodelay)
        self.operator = None

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def login(self, operator, password):
        """Open this operator's session (the server revokes any earlier one of theirs)."""
        answer = self._send("POST", "/api/login", json={"operator": operator, "password": password})
        self._http.headers["Authorization"] = "Bearer " + answer["token"]
        self.operator = answer
        return self

    def logout(self):
        self._send("POST", "/api/logout")
        self._http.headers.pop("Authorization", None)

    def call(self, name, /, **params):
        """The result of operation ``name`` (an iterator of results for a streamed one)."""
        op = api.OPERATIONS[name]
        body = json.loads(json.dumps(params, default=_wire))
        if op.stream:
            return self._stream(op, body)
        if op.method == "GET":
            query = {k: v for k, v in body.items() if v is not None}
            return api.decode(self._send("GET", op.path, params=query))
        return api.decode(self._send(op.method, op.path, json=body))

    def _send(self, method, path, **kw):
        import httpx
        try:
            response = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise VendError("cannot reach the vending server at %s: %s" % (self.url, exc))
        if response.status_code >= 400:
            _refuse(response)
        return response.json()

    def _stream(self, op, body):
        import httpx
        try:
            with self._http.stream(op.method, op.path, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    _refuse(response)
                for line in response.iter_lines():
                    if not line:
                        continue
                    item = json.loads(line)
                    if "error" in item:
                        raise VendError(item["error"])
                    yield api.decode(item)
        except httpx.HTTPError as exc:
            raise VendError("lost the vending server at %s: %s" % (self.url, exc))


def _verify(url, cacert):
    """What the TLS connection trusts: the station's CA file, else the system's CAs."""
    import ssl
    if not url.startswith(("http://", "https://")):
        raise VendError("vending server %s: the URL must begin with https:// (or http:// on this machine)" % url)
    if cacert is None:
        return True
    if url.startswith("http://"):
        raise VendError("a CA file (--cacert, PREPAY_SERVER_CACERT) is for an https:// server, not %s" % url)
    try:
        return ssl.create_default_context(cafile=cacert)
    except (OSError, ssl.SSLError) as exc:
        raise VendError("cannot use the CA file %s: %s" % (cacert, getattr(exc, "strerror", None) or exc))


def _wire(value):
    from pydantic import SecretStr
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return api.json_value(value)


def _refuse(response):
    try:
        message = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        message = "the vending server answered %d %s" % (response.status_code, response.reason_phrase)
    raise (PermissionDenied if response.status_code == 403 else VendError)(message)
