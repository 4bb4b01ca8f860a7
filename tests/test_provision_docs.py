"""The README's provisioning lines work as printed: the vending station's session and its
server (the README's ``prepay vend`` blocks, as tests/vending/test_vend_docs.py runs
them), then the technician's terminal in this repository runs the ``prepay provision
meter`` block, answering the password prompt. The only changes made to the lines: the
server's port (a free one), ``/tmp/`` (the test's own folder), and a first line that
stops the simulated board the block starts when the shell ends, however it ends."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vending"))

from test_vend_docs import PASSPHRASE, ROOT, TIMEOUT_S, Terminal, sh_blocks, shells  # noqa: E402,F401  (shells: fixture)


def test_readme_provisions_a_blank_board_through_the_server(shells, tmp_path):
    session, server_machine, _, _ = sh_blocks("README.md", "## `prepay vend`")
    server = shells(session, server_machine)
    server.wait_for(r"serving http://127\.0\.0\.1:\d+")
    port = re.findall(r"serving http://127\.0\.0\.1:(\d+)", server.out)[-1]
    block, = sh_blocks("README.md", "## `prepay provision meter`")
    script = "trap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + block.replace("8470", port).replace("/tmp/", str(tmp_path) + "/")
    env = {"PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
           "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "LANG": "C.UTF-8", "TERM": "dumb"}
    technician = Terminal(script, env, ROOT)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while technician.pump() and time.monotonic() < deadline:
            pass
    finally:
        technician.stop()
    out = technician.out
    assert technician.code == 0 and "error:" not in out, out[-4000:]
    assert PASSPHRASE not in out and "typed-at-a-prompt" not in out        # no echo of a secret
    assert "meter 600727000000000009 commissioned on " in out
    assert "sold before are Old on this meter" in out          # the session's sale, on a new board
    assert re.search(r"commissioned \S+ by admin: serial SIM-E-0002", out), out[-3000:]
