"""`make demo`, the README's main command, tells the whole story and the books balance."""
import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_story_runs_through_vending_and_the_simulated_meter():
    proc = subprocess.run([sys.executable, "-m", "host.demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("$ prepay vend sell") == 2
    assert out.count("| Accept           |") == 2
    assert "| Credit low       |" in out
    assert "supply OFF" in out.split("== 7.")[1].split("== 8.")[0]
    assert "supply ON" in out.split("== 8.")[1]
    books = re.search(r"bought KES ([\d.]+) = left ([-\d.]+) \+ energy ([\d.]+) "
                      r"\+ standing ([\d.]+)", out)
    bought, left, energy, standing = (int(x.replace(".", "")) for x in books.groups())  # cents
    assert bought == left + energy + standing and bought > 0
    assert "87f3ecbb" not in out and "abababab" not in out      # no key is ever printed


def test_demo_prints_commands_that_paste_as_printed():
    proc = subprocess.run([sys.executable, "-m", "host.demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = [l.split("$ ", 1)[1] for l in proc.stdout.splitlines() if "$ " in l]
    customer = next(shlex.split(l) for l in lines if " customer add " in l)
    assert customer[customer.index("--name") + 1] == "Jane Doe"
    folder = next(shlex.split(l)[1].split("=", 1)[1] for l in lines if l.startswith("export DEMO="))
    assert os.path.isfile(os.path.join(folder, "vending.db"))
    report = shlex.split(lines[-1])             # PREPAY_DB=... /abs/prepay vend report daily ...
    env = dict(os.environ, PREPAY_OPERATOR_PASSWORD="demo-admin")    # what the prompt asks
    env.pop("PREPAY_OPERATOR", None)
    env[report[0].split("=", 1)[0]] = report[0].split("=", 1)[1]
    done = subprocess.run(report[1:], cwd="/", env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert " 800.00 " in done.stdout                  # the two sales, 500 + 300
