"""`prepay token test` and `prepay token decode` on class 1 test tokens (real processes):
the control bits by number or by name, what a token asks for and which meters it is for."""
import json
import os
import subprocess
import sys

from tokens import build
from tokens.meter_tests import CONTROL_BITS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPE = "InitiateMeterTest/Display (2-digit manufacturer code)"


def prepay(*args):
    return subprocess.run([sys.executable, "-m", "host.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def ok(*args):
    proc = prepay(*args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_test_token_by_bits_or_names_says_what_it_asks_for():
    assert ok("token", "test").split("  ") == [
        "0000 0000 0001 3422 0736", TYPE, "all tests (every meter)\n"]
    assert build.test_token(0).digits == "00000000000134220736"
    assert ok("token", "test", "--control", "0x1") == \
        "0000 0000 0001 5099 7584  %s  load switch test (every meter)\n" % TYPE
    named = json.loads(ok("token", "test", "--test", "max_power", "--test", "version",
                          "--mfr-code", "7", "--json"))
    assert named["token"] == build.test_token(0x240, 7).digits
    assert named["fields"]["control"] == 0x240
    assert named["meaning"]["tests"] == "maximum power limit, software version"
    assert named["meaning"]["meters"] == "manufacturer 07 only"
    drn = json.loads(ok("token", "test", "--test", "drn", "--mfr-code", "1234",
                        "--mfr-digits", "4", "--json"))
    assert drn["fields"]["control"] == 1 << 17 and drn["meaning"]["meters"] == "manufacturer 1234 only"


def test_test_token_refuses_unknown_names_and_both_ways_at_once():
    proc = prepay("token", "test", "--test", "relay")
    assert proc.returncode == 2 and "invalid choice: 'relay'" in proc.stderr
    proc = prepay("token", "test", "--control", "1", "--test", "display")
    assert proc.returncode == 2 and "not allowed with" in proc.stderr
    help_text = ok("token", "test", "--help")
    assert "bit 0 load switch test" in help_text and "bit 17 decoder reference number" in help_text
    assert all(name in help_text for name in CONTROL_BITS)


def test_decode_says_what_a_test_token_asks_for():
    out = ok("token", "decode", "0000 0000 0001 5099 7584")
    assert "tests    load switch test\n" in out and "meters   every meter\n" in out
    ctsa02 = json.loads(ok("token", "decode", "02305843005052951967", "--json"))
    assert ctsa02["meaning"]["tests"].startswith("load switch test, display test, total energy")
    assert ctsa02["meaning"]["tests"].endswith("undefined bits 0xffc0000 (no test)")
    assert ctsa02["meaning"]["meters"] == "every meter"
