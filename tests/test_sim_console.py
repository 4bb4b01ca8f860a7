"""The simulated board's console (issue 15): stock mpremote against ``prepay sim
--blank``, the friendly REPL, Ctrl-C and Ctrl-D as on a board."""
import time

import pytest
import serial

from tests.console_board import BenchBoard


@pytest.fixture
def board(tmp_path):
    b = BenchBoard(tmp_path).start()
    yield b
    b.stop()


def read_until(port, marker, seconds=10):
    data = b""
    end = time.monotonic() + seconds
    while marker not in data and time.monotonic() < end:
        data += port.read(port.in_waiting or 1)
    assert marker in data, data
    return data


def test_mpremote_fs_exec_and_soft_reset(board, tmp_path):
    src = tmp_path / "hello.py"
    src.write_text("print('hello from', __name__)\n")
    assert board.mpremote("fs", "ls").stdout.strip() == "ls :"      # blank: nothing there
    board.mpremote("exec", "import sys; print([m for m in sys.modules if 'meter' in m])")
    board.mpremote("fs", "mkdir", "lib")
    board.mpremote("fs", "cp", str(src), ":lib/hello.py")
    board.mpremote("fs", "cp", str(src), ":main.py")
    assert "hello.py" in board.mpremote("fs", "ls", "lib").stdout
    assert board.mpremote("fs", "cat", "main.py").stdout.endswith("print('hello from', __name__)\n")
    out = board.mpremote("exec", "import hello").stdout
    assert "hello from hello" in out
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 200)                      # raw-paste windows
    board.mpremote("fs", "cp", str(big), ":big.bin")
    back = tmp_path / "back.bin"
    board.mpremote("fs", "cp", ":big.bin", str(back))
    assert back.read_bytes() == big.read_bytes()
    board.mpremote("fs", "rm", "big.bin")
    assert "big.bin" not in board.mpremote("fs", "ls").stdout
    board.mpremote("soft-reset")
    with serial.Serial(board.console, 115200, timeout=0.2) as port:
        port.write(b"\x04")                         # friendly REPL: boots main.py again
        out = read_until(port, b">>> ")
        assert b"MPY: soft reboot" in out and b"hello from __main__" in out
        port.write(b"6*7\r")
        assert b"42" in read_until(port, b">>> ")
        port.write(b"\x03")
        assert b"KeyboardInterrupt" in read_until(port, b">>> ")


def test_flash_outlives_the_process(board, tmp_path):
    board.mpremote("exec", "with open('kept.txt', 'w') as f: f.write('kept')")
    board.stop()
    board.start(blank=False)
    assert board.mpremote("fs", "cat", "kept.txt").stdout == "kept"


def test_blank_refuses_a_used_state(board, tmp_path):
    board.mpremote("exec", "pass")
    board.stop()
    again = BenchBoard(tmp_path)
    import subprocess
    import os
    from tests.console_board import BIN
    done = subprocess.run([os.path.join(BIN, "prepay"), "sim", "--blank", "--state",
                           again.state], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "already holds a board" in done.stderr and len(done.stderr.splitlines()) == 1
