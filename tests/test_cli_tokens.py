"""`prepay token` and `prepay key` as a support engineer uses them (real processes)."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STA_KEY = "87f3ecbb2e46b48f"
MISTY1_KEY = "daa892189d08e738dfded73924c87f32"


def prepay(*args, stdin=None):
    proc = subprocess.run([sys.executable, "-m", "host.cli", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60)
    return proc


def ok(*args, stdin=None):
    proc = prepay(*args, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_decode_json_credit_token():
    out = json.loads(ok("token", "decode", "7063 0503 4700 2872 6114", "--key", STA_KEY,
                        "--algorithm", "sta", "--json", "--base-date", "2014"))
    assert out["class"] == 0 and out["subclass"] == 0 and out["crc_ok"] is True
    assert len(out["block"]) == 16 and out["tid"] >= 0
    assert out["meaning"]["unit"] == "kWh" and out["meaning"]["amount"] == "0.1"
    assert out["meaning"]["issued"].startswith("20")


def test_decode_text_misty1():
    out = ok("token", "decode", "06094571069413075467", "--key", MISTY1_KEY, "--algorithm", "misty1")
    assert "TransferCredit gas" in out and "TID      490" in out


def test_encode_block_single_and_batch():
    assert ok("token", "encode-block", "--class", "0", "--block", "350001ef0001ef6c",
              "--key", "8fbfa995248bf7f8", "--algorithm", "sta").strip() == "30127467739283790161"
    batch = "0 350001ef0001ef6c\n# comment\n1 1fffffff00001d9f\n"
    lines = ok("token", "encode-block", "--batch", "--key", "8fbfa995248bf7f8", stdin=batch).split()
    assert lines == ["30127467739283790161", "02305843005052951967"]


def test_credit_from_human_inputs_rounds_up():
    out = json.loads(ok("token", "credit", "--key", STA_KEY, "--amount", "12.34",
                        "--issued", "2026-11-23T08:00", "--base-date", "2014", "--json"))
    assert out["meaning"]["amount"] == "12.4"
    decoded = json.loads(ok("token", "decode", out["token"], "--key", STA_KEY, "--json"))
    assert decoded["tid"] == out["tid"] and decoded["block"] == out["block"]


def test_amount_may_carry_its_unit_and_class1_needs_no_key():
    out = json.loads(ok("token", "credit", "--key", STA_KEY, "--utility", "water",
                        "--amount", "3.25m3", "--tid", "9", "--json"))
    assert out["meaning"]["amount"] == "3.3" and out["meaning"]["unit"] == "m3"
    assert "InitiateMeterTest" in ok("token", "decode", "00000000000150997584")


def test_currency_and_management_tokens():
    out = json.loads(ok("token", "credit", "--key", MISTY1_KEY, "--algorithm", "misty1",
                        "--currency", "100.00", "--tid", "1000", "--json"))
    assert out["subclass"] == 4 and out["meaning"]["amount"] == "100.00624"
    out = json.loads(ok("token", "power-limit", "--key", STA_KEY, "--watts", "5000", "--tid", "7",
                        "--json"))
    assert out["subclass"] == 0 and out["meaning"]["amount"] == "5000"
    out = json.loads(ok("token", "clear-tamper", "--key", STA_KEY, "--tid", "8", "--json"))
    assert out["meaning"]["type"] == "ClearTamperCondition"


def test_keychange_and_test_token():
    out = json.loads(ok("token", "keychange", "--key", STA_KEY, "--new-key", "0102030405060708",
                        "--krn", "2", "--kt", "2", "--ti", "1", "--rollover", "--json"))
    assert [t["subclass"] for t in out] == [3, 4] and out[0]["fields"]["rollover"] == 1
    out = json.loads(ok("token", "test", "--control", "0x1", "--json"))
    assert out["token"] == "00000000000150997584"


def test_key_derive_both_algorithms():
    vk = "abababababababab949494949494949401234567"
    assert ok("key", "derive", "--dkga", "04", "--vending-key", vk, "--pan", "600727000000000009",
              "--sgc", "201457", "--ti", "01", "--krn", "1", "--kt", "2",
              "--base-date", "2014").strip() == "87f3ecbb2e46b48f"
    assert ok("key", "derive", "--dkga", "04", "--vending-key", vk, "--pan", "600727000000000009",
              "--sgc", "201457", "--ti", "02", "--krn", "1", "--kt", "2", "--base-date", "2014",
              "--algorithm", "misty1").strip() == "b199270a77af96d3156c51b0964a8782"
    assert ok("key", "derive", "--dkga", "02", "--vending-key", "abababababababab", "--pan",
              "600727000000000009", "--sgc", "123456", "--ti", "02", "--krn", "1",
              "--kt", "2").strip() == "060b8643c59a27f1"


@pytest.mark.parametrize("args, message", [
    (("token", "decode", "1234", "--key", STA_KEY), "20 digits"),
    (("token", "decode", "1234567890123456789x", "--key", STA_KEY), "20 digits"),
    (("token", "decode", "73786976294838206464", "--key", STA_KEY), "2^66"),
    (("token", "decode", "70630503470028726115", "--key", STA_KEY), "CRC"),
    (("token", "decode", "70630503470028726114", "--key", "abc"), "hex"),
    (("token", "decode", "70630503470028726114", "--key", "abcd"), "8 bytes"),
    (("token", "decode", "70630503470028726114"), "--key"),
    (("token", "credit", "--key", STA_KEY, "--amount", "2000000", "--tid", "1"), "largest"),
    (("token", "credit", "--key", STA_KEY, "--amount", "1", "--issued", "2046-01-01T00:00"),
     "rolled over"),
    (("token", "credit", "--key", STA_KEY, "--amount", "x1", "--tid", "1"), "a number"),
    (("token", "credit", "--key", STA_KEY, "--amount", "1.2.3", "--tid", "1"), "decimal"),
    (("token", "credit", "--key", STA_KEY, "--amount", "3m3", "--tid", "1"), "carry kWh"),
    (("token", "encode-block", "--class", "0", "--block", "123", "--key", STA_KEY), "hex"),
    (("key", "derive", "--dkga", "04", "--vending-key", "ab" * 20, "--pan", "600727000000000008",
      "--sgc", "1", "--ti", "1", "--krn", "1", "--kt", "2"), "check digit"),
])
def test_bad_input_gives_one_line_and_exit_2(args, message):
    proc = prepay(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_help_lists_commands():
    assert "decode" in ok("token", "--help") and "derive" in ok("key", "--help")
    assert "token" in ok("--help")


@pytest.mark.parametrize("args, message", [
    (("token", "credit", "--key", STA_KEY, "--units", "1", "--tid", "5", "--issued",
      "2026-11-23T08:00"), "argument --issued: not allowed with argument --tid"),
    (("token", "credit", "--key", STA_KEY, "--units", "1", "--tid", "5", "--last-tid", "9"),
     "--last-tid goes with --issued"),
    (("token", "credit", "--key", STA_KEY, "--units", "1", "--currency", "1", "--tid", "5"),
     "argument --currency: not allowed with argument --units"),
    (("token", "credit", "--key", STA_KEY, "--units", "1", "--amount", "2", "--tid", "5"),
     "argument --amount: not allowed with argument --units"),
    (("token", "credit", "--key", STA_KEY, "--tid", "5"), "one of the arguments --units --currency"),
    (("token", "power-limit", "--key", STA_KEY, "--watts", "5"), "one of the arguments --tid --issued"),
    (("token", "encode-block", "--batch", "--block", "350001ef0001ef6c", "--key", STA_KEY),
     "argument --block: not allowed with argument --batch"),
    (("token", "encode-block", "--batch", "--class", "0", "--key", STA_KEY),
     "--class goes with --block"),
    (("key", "derive", "--dkga", "02", "--vending-key", "ab" * 8, "--meter", "600727000000000009",
      "--sgc", "123456", "--ti", "02", "--krn", "1", "--kt", "2", "--base-date", "2014"),
     "--base-date goes with --dkga 04"),
])
def test_flags_that_would_override_each_other_are_refused(args, message):
    """Two flags for one thing, or a flag the command would ignore, are refused (exit 2)."""
    proc = prepay(*args)
    assert proc.returncode == 2 and message in proc.stderr and not proc.stdout


def test_old_spellings_are_hidden_aliases():
    """keychange, --amount (units) and --pan still work as they did; --help shows only the
    one vocabulary."""
    change = ("--key", STA_KEY, "--new-key", "0102030405060708", "--krn", "2", "--kt", "2",
              "--ti", "1", "--json")
    assert ok("token", "keychange", *change) == ok("token", "key-change", *change)
    credit = ("--key", STA_KEY, "--tid", "9", "--rnd", "3", "--json")
    assert ok("token", "credit", "--amount", "2.5kWh", *credit) == \
        ok("token", "credit", "--units", "2.5kWh", *credit)
    derive = ("key", "derive", "--dkga", "04", "--vending-key", "ab" * 8 + "94" * 8 + "01234567",
              "--sgc", "201457", "--ti", "01", "--krn", "1", "--kt", "2")
    assert ok(*derive, "--pan", "600727000000000009") == \
        ok(*derive, "--meter", "600727000000000009") == "87f3ecbb2e46b48f\n"
    assert "key-change" in ok("token", "--help") and "keychange" not in ok("token", "--help")
    assert "--units" in ok("token", "credit", "--help") and "--amount" not in ok("token", "credit", "--help")
    assert "--meter PAN" in ok("key", "derive", "--help") and "--pan" not in ok("key", "derive", "--help")


def test_key_derive_json():
    out = json.loads(ok("key", "derive", "--dkga", "02", "--vending-key", "abababababababab",
                        "--meter", "600727000000000009", "--sgc", "123456", "--ti", "02",
                        "--krn", "1", "--kt", "2", "--json"))
    assert out == {"decoder_key": "060b8643c59a27f1", "dkga": "02", "meter": "600727000000000009",
                   "sgc": 123456, "ti": 2, "krn": 1, "kt": 2, "base_date": None,
                   "algorithm": "sta"}


@pytest.mark.parametrize("args", [
    ("token", "decode", "1234\x1b[2J\nUnits 999.0 kWh"),                 # the tool's own error
    ("token", "decode", "00000000000150997584", "--algorithm", "\x1b[31mred"),   # argparse's
    ("sim", "--state", "/nonexistent/\x1b]0;title\x07", "--script", "-"),
])
def test_errors_show_control_characters_escaped(args):
    proc = prepay(*args, stdin="")
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "\\x1b" in proc.stderr
