"""A vending station and a meter model's configuration for provisioning tests, driven
through ``prepay`` as in the README (tests/test_provision_meter.py, tests/hil): on SQLite
or PostgreSQL, and the technician provisioning locally or through the vending server."""
import atexit
import json
import os
import subprocess
import sys


from tests.console_board import BIN, REPO

sys.path.insert(0, os.path.join(REPO, "tests", "vending"))
from pgserver import started_for_tests  # noqa: E402
from vendserver import VendServer  # noqa: E402

PAN, OTHER_PAN = "600727000000000009", "600727000000000017"
KEY = "87f3ecbb2e46b48f"        # the decoder key the public test vending key gives PAN
TECHNICIAN_PW = "tech-0815"
EXAMPLE = os.path.join(REPO, "boards", "sim", "examples", "electricity-currency-tou.json")
KEY_PARTITION = 8192            # the sim flash's last 2 blocks (docs/meter-security.md)
PASSPHRASE = "correct horse battery staple"
TECHNICIAN = {"PREPAY_OPERATOR": "tom", "PREPAY_OPERATOR_PASSWORD": "tom-secret-1"}
BROKER = "127.0.0.1:1883"
IR_TIMEOUT_S = 60               # a simulated meter on a loaded machine answers late, not never


class Station:
    """A vending station in a directory, driven through ``prepay`` as in the README. The
    admin's commands run locally; ``provision`` runs as tom, a technician, through the
    vending server when ``served`` (tom then holds no database URL and no passphrase)."""

    def __init__(self, tmp_path, db_url=None, served=False):
        self.dir = tmp_path
        self.db_url = db_url or str(tmp_path / "vending.db")
        self.env = dict(os.environ, PREPAY_DB=self.db_url, PREPAY_KEYSTORE_PASSPHRASE=PASSPHRASE,
                        PREPAY_OPERATOR="admin", PREPAY_OPERATOR_PASSWORD="admin-secret-1")
        for name in ("PREPAY_SERVER", "PREPAY_SERVER_CACERT"):
            self.env.pop(name, None)
        self.served = served
        self.server = None
        self.said = []          # every output, for the grep

    def run(self, *args, env=None, check=True):
        done = subprocess.run([os.path.join(BIN, "prepay")] + [str(a) for a in args],
                              capture_output=True, text=True, cwd=self.dir, timeout=600,
                              env=dict(self.env, **(env or {})))
        self.said += [done.stdout, done.stderr]
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def setup(self):
        self.run("vend", "init", "--timezone", "Africa/Nairobi", "--approval-wait", 0)
        for name, role in (("admin", "admin"), ("alice", "clerk"), ("tom", "technician")):
            self.run("vend", "operator", "add", name, "--role", role,
                     env={"PREPAY_NEW_OPERATOR_PASSWORD": name + "-secret-1"})
        vk = self.dir / "vk.hex"
        vk.write_text("abababababababab949494949494949401234567\n")
        self.run("vend", "key", "add", "--sgc", 201457, "--krn", 1, "--dkga", "04", "--key-file", vk)
        vk.unlink()
        self.run("vend", "tariff", "add", "home", "--flat", "0.25", "--vat", "16")
        self.run("vend", "customer", "add", "--account", "A-001", "--name", "Jane Doe")
        for pan in (PAN, OTHER_PAN):
            self.run("vend", "meter", "add", "--meter", pan, "--account", "A-001", "--sgc", 201457,
                     "--ti", 1, "--krn", 1, "--kt", 2, "--algorithm", "sta", "--base-date", 2014,
                     "--utility", "electricity", "--credit-mode", "currency", "--tariff", "home")
        self.run("vend", "meter", "status", "--meter", PAN, "--set", "blocked")  # until commissioned
        if self.served:
            self.server = VendServer(self.db_url, PASSPHRASE, self.dir).start()
        return self

    def technician_env(self, env=None):
        """tom's environment: the server's URL and his own login, or the database here."""
        base = dict(TECHNICIAN)
        if self.served:
            base.update(PREPAY_SERVER=self.server.url, PREPAY_DB="", PREPAY_KEYSTORE_PASSPHRASE="")
        base.update(env or {})
        return base

    def provision_args(self, board, config, pan=PAN, json_out=False):
        return ["provision", "meter", "--port", board.console, "--ir-port", board.ir,
                "--config", config, "--meter", pan, "--ir-timeout", IR_TIMEOUT_S] + (["--json"] if json_out else [])

    def provision(self, board, config, pan=PAN, env=None, check=True, json_out=False):
        """As tom, the technician."""
        return self.run(*self.provision_args(board, config, pan, json_out),
                        env=self.technician_env(env), check=check)

    def secrets(self, pan=PAN):
        """The meter's command key and broker password as the custody derives them (the
        test's own look, for the grep)."""
        from host.vending.db import make_engine
        from host.vending.station import Station as Running
        station = Running(make_engine(self.db_url), PASSPHRASE)
        try:
            return station.command_key(pan).hex(), station.broker_password(pan)
        finally:
            station.close()
            station.engine.dispose()

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None


def model_config(tmp_path, name="METER.json", online=True, **changes):
    """The meter model's configuration as a technician has it: no secret in it; an online
    meter's broker (its command key and broker password come from the station)."""
    with open(EXAMPLE) as f:
        config = json.load(f)
    config["sts"]["key"] = None
    config["ir"] = {"passwords": {"reader": "rd-4711", "technician": TECHNICIAN_PW}}
    if online:
        config["online"] = {"broker": BROKER}
    for section, values in changes.items():
        config[section].update(values)
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return path


_PG = []


def database_url(kind, tmp_path):
    """A new database: a SQLite file in ``tmp_path``, or one on a PostgreSQL server
    started once per test process (skipped where there is none, failed under CI)."""
    if kind == "sqlite":
        return str(tmp_path / "vending.db")
    if not _PG:
        server = started_for_tests()
        atexit.register(server.stop)
        _PG.append(server)
    return _PG[0].new_database()
