"""A throw-away PostgreSQL server for the vending tests and benchmarks.

``PREPAY_TEST_PG_URL`` wins if set. Otherwise ``start()`` runs Debian's ``initdb`` and
``pg_ctl`` on a temporary data directory, listening on 127.0.0.1 at a free port (as the
``postgres`` user when we are root, since PostgreSQL refuses to run as root).
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid


def _binary(name):
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    return candidates[-1] if candidates else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, durable=False):
        """``durable``: flush every commit to disk as a station's server would (the tests'
        server does not, for speed; the benchmarks' does, so commits cost what they cost)."""
        self.url = None
        self.durable = durable
        self._data = None
        self._as_user = []

    def start(self):
        given = os.environ.get("PREPAY_TEST_PG_URL")
        if given:
            self.url = given
            return self
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("PostgreSQL is not installed (no initdb/pg_ctl); apt-get install postgresql")
        base = tempfile.mkdtemp(prefix="prepay-pg-")
        self._data = os.path.join(base, "data")
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(base, 0o755)
        port = _free_port()
        self._run([initdb, "-D", self._data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        with open(os.path.join(base, "log"), "w"):
            pass
        if self._as_user:
            shutil.chown(os.path.join(base, "log"), "postgres", "postgres")
        flush = "on" if self.durable else "off"
        options = "-h 127.0.0.1 -p %d -k %s -c fsync=%s -c synchronous_commit=%s -c max_connections=60" % (
            port, base, flush, flush)
        self._run([pg_ctl, "-D", self._data, "-o", options, "-l", os.path.join(base, "log"), "-w", "-t", "60",
                   "start"])
        self.url = "postgresql://postgres@127.0.0.1:%d/postgres" % port
        self._pg_ctl = pg_ctl
        return self

    def _run(self, argv):
        result = subprocess.run(self._as_user + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError("%s failed: %s" % (os.path.basename(argv[0]), result.stdout[-800:]))

    def stop(self):
        if self._data:
            try:
                self._run([self._pg_ctl, "-D", self._data, "-m", "immediate", "stop"])
            finally:
                shutil.rmtree(os.path.dirname(self._data), ignore_errors=True)
                self._data = None

    def new_database(self):
        """A fresh, empty database on this server; its URL."""
        import psycopg
        name = "vend_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self._psycopg_url(self.url), autocommit=True) as conn:
            conn.execute("CREATE DATABASE " + name)
        return self.url.rsplit("/", 1)[0] + "/" + name

    @staticmethod
    def _psycopg_url(url):
        return url.replace("postgresql+psycopg://", "postgresql://")

    def wait_ready(self, seconds=30):
        import psycopg
        deadline = time.time() + seconds
        while True:
            try:
                psycopg.connect(self._psycopg_url(self.url), connect_timeout=3).close()
                return self
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)


def started_for_tests():
    """A started server for the tests' PostgreSQL cases; where none can be had (not
    installed, cannot start) the test is skipped, but **fails** under CI (``CI=true``) or
    with ``PREPAY_REQUIRE_PG=1``."""
    import pytest
    server = Server()
    try:
        server.start().wait_ready()
    except Exception as exc:   # any reason: not installed, cannot start, unreachable
        message = "PostgreSQL unavailable: %s" % exc
        if os.environ.get("CI", "").lower() == "true" or os.environ.get("PREPAY_REQUIRE_PG") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return server
