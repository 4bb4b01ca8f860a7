"""The README's head-end session runs as printed: a station, mosquitto configured by
``prepay headend broker-config``, a head-end, three simulated meters, a sale delivered over
MQTT and accepted, a relay command with its verified result (ports made free, prompts
answered on stdin)."""
import os
import re
import signal
import subprocess
import sys

from broker import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENDING_KEY = "abababababababab949494949494949401234567"     # the compliance vectors' public test key


def readme_block():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("## `prepay headend`", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_headend_session(tmp_path):
    script = readme_block()
    script = script.replace('cd "$(mktemp -d)"', "cd %s" % tmp_path)
    script = script.replace("1883", str(free_port())).replace("8883", str(free_port()))
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               PREPAY_NEW_OPERATOR_PASSWORD="admin password", HOME=str(tmp_path))
    for name in ("PREPAY_DB", "PREPAY_SERVER", "PREPAY_OPERATOR", "PREPAY_OPERATOR_PASSWORD"):
        env.pop(name, None)
    answers = "keystore passphrase\nadmin password\n%s\nbroker password\n" % VENDING_KEY
    proc = subprocess.Popen(["bash", "-e", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, cwd=str(tmp_path), start_new_session=True)
    try:
        out, _ = proc.communicate(answers, timeout=600)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)          # whatever the script left running
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, out[-3000:]
    assert re.search(r"receipt 1 token \d+ \(TID \d+\): done Accept", out), out[-3000:]
    assert re.search(r"command \d+ to 600727000000000017 \(ctr \d+\): done ok", out), out[-3000:]
