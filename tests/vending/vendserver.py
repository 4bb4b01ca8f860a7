"""``prepay vend serve`` started by the tests and benchmarks on a free loopback port, as a
station runs it: its own process, the database URL and keystore passphrase its alone."""
import json
import os
import selectors
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class VendServer:
    command, log_name, what = ("vend", "serve"), "server.log", "the vending server"

    def __init__(self, db_url, passphrase, log_dir, extra=(), env=None):
        """``extra``: more ``serve`` options, such as ``--tls-cert PEM --tls-key PEM``;
        ``env``: more environment (secrets a station gives its server that way)."""
        self.db_url, self.passphrase, self.log_dir = db_url, passphrase, str(log_dir)
        self.extra, self.env = [str(a) for a in extra], dict(env or {})
        self.process = self.url = None

    def start(self, timeout=60):
        env = dict(os.environ, PREPAY_KEYSTORE_PASSPHRASE=self.passphrase,
                   PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        for name in ("PREPAY_SERVER", "PREPAY_OPERATOR", "PREPAY_OPERATOR_PASSWORD"):
            env.pop(name, None)
        env.update(self.env)
        self._log = open(os.path.join(self.log_dir, self.log_name), "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "host.cli", *self.command, "--db", self.db_url, "--host", "127.0.0.1",
             "--port", "0", "--json"] + self.extra, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._log)
        with selectors.DefaultSelector() as wait:
            wait.register(self.process.stdout, selectors.EVENT_READ)
            if not wait.select(timeout):
                self.stop()
                raise RuntimeError("%s did not start within %d s" % (self.what, timeout))
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            with open(os.path.join(self.log_dir, self.log_name), encoding="utf-8", errors="replace") as log:
                raise RuntimeError("%s stopped: %s" % (self.what, log.read()[-2000:]))
        self.url = json.loads(line)["url"]
        return self

    def stop(self):
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
