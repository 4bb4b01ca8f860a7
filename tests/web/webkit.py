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


class WebServer:
    """``prepay web serve`` in its own process on a free loopback port, as a station runs it."""

    def __init__(self, db_url, passphrase, log_dir, providers=(("mpesa", "mpesa", PROVIDER_SECRET),)):
        self.db_url, self.passphrase, self.log_dir, self.providers = db_url, passphrase, str(log_dir), providers
        self.process = self.url = None

    def start(self, timeout=90):
        import json
        import os
        import selectors
        import subprocess
        import sys
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PREPAY_KEYSTORE_PASSPHRASE=self.passphrase, PYTHONPATH=root)
        command = [sys.executable, "-m", "host.cli", "web", "serve", "--db", self.db_url, "--port", "0", "--json"]
        for name, operator, secret in self.providers:
            env["PREPAY_PROVIDER_SECRET_" + name.upper()] = secret.decode()
            command += ["--provider", "%s:%s" % (name, operator)]
        self._log = open(os.path.join(self.log_dir, "web-server.log"), "wb")
        self.process = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=self._log)
        with selectors.DefaultSelector() as wait:
            wait.register(self.process.stdout, selectors.EVENT_READ)
            ready = wait.select(timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.stop()
            with open(os.path.join(self.log_dir, "web-server.log"), errors="replace") as log:
                raise RuntimeError("prepay web serve did not start: %s" % log.read()[-2000:])
        self.url = json.loads(line)["url"]
        return self

    def stop(self):
        import subprocess
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.process.stdout.close()
            self._log.close()
