"""A vending station and a meter model's configuration for provisioning tests, driven
through ``prepay`` as in the README (tests/test_provision_meter.py, tests/hil)."""
import json
import os
import subprocess

from tests.console_board import BIN, REPO

PAN, OTHER_PAN = "600727000000000009", "600727000000000017"
KEY = "87f3ecbb2e46b48f"        # the decoder key the public test vending key gives PAN
TECHNICIAN_PW = "tech-0815"
EXAMPLE = os.path.join(REPO, "boards", "sim", "examples", "electricity-currency-tou.json")
KEY_PARTITION = 8192            # the sim flash's last 2 blocks (docs/meter-security.md)
PASSPHRASE = "correct horse battery staple"


class Station:
    """A vending station in a directory, driven through ``prepay`` as in the README."""

    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.env = dict(os.environ, PREPAY_DB=str(tmp_path / "vending.db"),
                        PREPAY_KEYSTORE_PASSPHRASE=PASSPHRASE, PREPAY_OPERATOR="admin",
                        PREPAY_OPERATOR_PASSWORD="admin-secret-1")
        self.said = []          # every output, for the grep

    def run(self, *args, env=None, check=True):
        done = subprocess.run([os.path.join(BIN, "prepay")] + [str(a) for a in args],
                              capture_output=True, text=True, cwd=self.dir, timeout=300,
                              env=dict(self.env, **(env or {})))
        self.said += [done.stdout, done.stderr]
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def setup(self):
        self.run("vend", "init", "--timezone", "Africa/Nairobi")
        for name, role in (("admin", "admin"), ("alice", "clerk")):
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
        return self

    def provision(self, board, config, pan=PAN, env=None, check=True, json_out=False):
        """As the admin: a supervisor account works once a second admin approved it."""
        args = ["provision", "meter", "--port", board.console, "--ir-port", board.ir,
                "--config", config, "--meter", pan] + (["--json"] if json_out else [])
        return self.run(*args, env=env, check=check)


def model_config(tmp_path, name="METER.json", **changes):
    """The meter model's configuration as a technician has it: no decoder key in it."""
    with open(EXAMPLE) as f:
        config = json.load(f)
    config["sts"]["key"] = None
    config["ir"] = {"passwords": {"reader": "rd-4711", "technician": TECHNICIAN_PW}}
    for section, values in changes.items():
        config[section].update(values)
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return path
