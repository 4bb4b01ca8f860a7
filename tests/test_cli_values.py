"""Every `prepay token` and `prepay key` value goes through the one strict parser, and what
they read from stdin through the one text reader: a comma, other scripts' digits or a
Latin-1 line is one line on stderr and exit 2, never a different number or a traceback."""
import subprocess
import sys

import pytest

from test_cli_tokens import ROOT, STA_KEY
from tokens.pan import luhn_digit

VK = "abababababababab949494949494949401234567"
_BODY = "".join(chr(0x660 + int(c)) for c in "60072700000000000")
ARABIC_PAN = _BODY + luhn_digit(_BODY)       # its check digit "fits": CPython's isdigit took it


def prepay(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "host.cli", *args], cwd=ROOT, input=stdin,
                          capture_output=True, timeout=60)


@pytest.mark.parametrize("args, said", [
    (("token", "credit", "--key", STA_KEY, "--tid", "1", "--amount", "1,5"), "comma"),
    (("token", "credit", "--key", STA_KEY, "--tid", "1", "--amount", "\u0661\u0660"), "0-9"),
    (("token", "credit", "--key", STA_KEY, "--tid", "1", "--amount", "1e3kWh"), "carry kWh"),
    (("token", "credit", "--key", STA_KEY, "--tid", "1", "--currency", "100,00"), "comma"),
    (("token", "credit", "--key", STA_KEY, "--tid", "1", "--currency", "NaN"), "not a number"),
    (("token", "credit", "--key", STA_KEY, "--tid", "\u0661", "--amount", "1"), "0-9"),
    (("token", "credit", "--key", STA_KEY, "--tid", "1_0", "--amount", "1"), "not a number"),
    (("token", "credit", "--key", STA_KEY, "--amount", "1", "--issued", "\u0662\u0660\u0662\u0666-11-23T08:00"),
     "0-9"),
    (("token", "credit", "--key", STA_KEY, "--amount", "1", "--issued", "2026-11-31T08:00"), "no such"),
    (("token", "power-limit", "--key", STA_KEY, "--tid", "1", "--watts", "5,000"), "comma"),
    (("token", "test", "--control", "0b1"), "not a number"),
    (("key", "derive", "--dkga", "04", "--vending-key", VK, "--pan", "600727000000000009", "--sgc",
      "\u0662\u0660\u0661\u0664\u0665\u0667", "--ti", "01", "--krn", "1", "--kt", "2"), "0-9"),
    (("key", "derive", "--dkga", "04", "--vending-key", VK, "--pan", "600727000000000009", "--sgc",
      "2014570", "--ti", "01", "--krn", "1", "--kt", "2"), "out of range"),
    (("key", "derive", "--dkga", "04", "--vending-key", VK, "--pan", ARABIC_PAN, "--sgc", "201457", "--ti", "01",
      "--krn", "1", "--kt", "2"), "18 digits"),
])
def test_values_are_parsed_strictly(args, said):
    proc = prepay(*args)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and said in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and not proc.stdout


def test_batch_stdin_in_utf16_is_read_and_latin1_or_binary_is_one_line():
    batch = "0 350001ef0001ef6c  # caf\u00e9\n"
    out = prepay("token", "encode-block", "--batch", "--key", "8fbfa995248bf7f8", stdin=batch.encode("utf-16"))
    assert out.returncode == 0 and out.stdout.split() == [b"30127467739283790161"]
    for data, said in ((batch.encode("latin-1"), "not UTF-8 text at byte 25"),
                       (b"\x00\x01\x02\xff" * 8, "not text, a control character at byte 0")):
        proc = prepay("token", "encode-block", "--batch", "--key", "8fbfa995248bf7f8", stdin=data)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and "standard input: " + said in err and len(err.strip().splitlines()) == 1
        assert not proc.stdout
    proc = prepay("token", "encode-block", "--batch", "--key", "8fbfa995248bf7f8", stdin="\u0660 35".encode())
    assert proc.returncode == 2 and b"0-9" in proc.stderr
