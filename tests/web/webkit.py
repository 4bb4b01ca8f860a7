"""The web console tests' browser without a browser: httpx's test client through the forms."""
import re

from vendserver import VendServer

PROVIDER_SECRET = b"test provider shared secret 0123"


class Browser:
    """A test client that logs in through the forms and posts with the page's CSRF token."""

    def __init__(self, app):
        from fastapi.testclient import TestClient
        self.client = TestClient(app, base_url="http://testserver", follow_redirects=False)
        self.csrf = None

    def login(self, name, password, path="/web/login", field="operator"):
        page = self.client.get(path)
        token = csrf_of(page.text)
        answer = self.client.post(path, data={field: name, "password": password, "csrf": token})
        assert answer.status_code == 303, answer.text
        home = self.client.get(answer.headers["location"])
        self.csrf = csrf_of(home.text)
        return home

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            data["csrf"] = self.csrf
        return self.client.post(path, data=data, **kw)


def csrf_of(html):
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    return found.group(1) if found else None


class WebServer(VendServer):
    """``prepay web serve`` in its own process on a free loopback port, as a station runs it,
    with payment providers whose shared secrets come from the environment."""
    command, log_name, what = ("web", "serve"), "web-server.log", "prepay web serve"

    def __init__(self, db_url, passphrase, log_dir, providers=(("mpesa", "mpesa", PROVIDER_SECRET),)):
        super().__init__(db_url, passphrase, log_dir,
                         extra=[a for name, operator, _ in providers for a in ("--provider", "%s:%s" % (name, operator))],
                         env={"PREPAY_PROVIDER_SECRET_" + name.upper(): secret.decode() for name, _, secret in providers})

    def start(self, timeout=90):
        return super().start(timeout)
