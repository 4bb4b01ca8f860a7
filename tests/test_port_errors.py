"""A port that cannot be opened is one clean line naming it and the cause once (pyserial's
message repeats the port and the errno)."""
import os
import subprocess
import sys

from host.provisioning.console import Console, ConsoleError
from host.text import reason

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_read_on_a_missing_port_is_one_line_with_the_cause_once(tmp_path):
    port = str(tmp_path / "nonexistent")
    proc = subprocess.run([sys.executable, "-m", "host.cli", "read", "--port", port], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == "prepay read: error: cannot open %s: No such file or directory\n" % port


def test_the_console_on_a_missing_port_is_one_line(tmp_path):
    port = str(tmp_path / "nonexistent")
    try:
        Console(port)
    except ConsoleError as exc:
        text = str(exc)
    assert text.startswith("cannot open the console %s: " % port)
    assert "\n" not in text and "Errno" not in text


def test_reason_says_an_os_error_once():
    import serial
    try:
        serial.Serial("/nonexistent/port")
    except serial.SerialException as exc:
        assert reason(exc) == "No such file or directory"
    assert reason(ValueError("first\nlast")) == "last"
