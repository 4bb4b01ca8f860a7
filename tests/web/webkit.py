"""The web console tests' browser without a browser: httpx's test client through the forms."""
import re

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
