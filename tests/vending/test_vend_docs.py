"""The README's and docs/vending.md's vending sessions work as printed: each ``sh`` block
is run by bash at a terminal (a pty), every secret typed at the prompt it is asked at
(``read -rsp`` or prepay's own), none on a command line. The only change made to the
lines is the server's port (8470), replaced by a free one.

The multi-clerk stations run as people run them: the server in its own terminal, kept
running, and each clerk's shell in another, the two clerks at the same time."""
import os
import pty
import re
import select
import signal
import socket
import sys
import termios
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSPHRASE = "a keystore passphrase typed at a prompt"
VENDING_KEY = "abababababababab949494949494949401234567"     # the compliance vectors' public test key
TIMEOUT_S = 900                      # whole sessions with scrypt at the station's strength, on a busy CI


def password(name):
    return "%s-typed-at-a-prompt" % name


def sh_blocks(doc, heading):
    """The ``sh`` blocks of the section of ``doc`` that starts with ``heading`` (up to the
    next heading of its level or above; a ``#`` line inside a block is a comment)."""
    with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
        lines = f.read().split("\n")
    level = len(heading.split(" ")[0])
    blocks, block, inside = [], None, False
    for line in lines[next(i for i, x in enumerate(lines) if x.startswith(heading)) + 1:]:
        if line.startswith("```"):
            if block is not None:
                blocks.append("\n".join(block) + "\n")
                block = None
            elif line == "```sh":
                block = []
            inside = not inside
        elif block is not None:
            block.append(line)
        elif not inside and re.match(r"#{1,%d} " % level, line):
            break
    return blocks


class Terminal:
    """bash running ``script`` at a pty, answering the prompts it shows."""
    PROMPTS = re.compile(r"(New keystore passphrase|Keystore passphrase|New password for (\S+)|Password for (\S+)"
                         r"|Vending key \(hex\)|Repeat): $")

    def __init__(self, script, env, cwd):
        pid, fd = pty.fork()
        if pid == 0:                                   # the child: bash, stopping at the first failure
            try:
                os.chdir(cwd)
                os.execve("/bin/bash", ["bash", "--noprofile", "--norc", "-e", "-c", script], env)
            finally:
                os._exit(127)
        self.pid, self.fd, self.out, self.code = pid, fd, "", None
        self._seen, self._new = 0, None

    def pump(self, wait=1.0):
        """Read what the terminal shows and answer a prompt; False once bash has ended."""
        if self.code is not None:
            return False
        ready, _, _ = select.select([self.fd], [], [], wait)
        if ready:
            try:
                data = os.read(self.fd, 65536)
            except OSError:                            # EIO: the other side closed
                data = b""
            if data:
                self.out += data.decode("utf-8", "replace")
                self._answer()
                return True
            self.code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
            os.close(self.fd)
            return False
        return True

    def _answer(self):
        found = self.PROMPTS.search(self.out, self._seen)
        if not found:
            return
        self._seen = found.end()
        what, new_for, for_ = found.group(1), found.group(2), found.group(3)
        if what == "Repeat":
            answer = self._new
        elif "passphrase" in what:
            answer = PASSPHRASE
        elif what.startswith("Vending key"):
            answer = VENDING_KEY
        else:
            answer = password(new_for or for_)
        if what.startswith("New"):
            self._new = answer
        deadline = time.monotonic() + 60          # bash's read -s prints its prompt, then stops echo
        while termios.tcgetattr(self.fd)[3] & termios.ECHO and time.monotonic() < deadline:
            time.sleep(0.05)
        os.write(self.fd, (answer + "\n").encode())

    def wait_for(self, pattern, timeout=TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.out):
            assert self.pump(), "ended (exit %s) before %r:\n%s" % (self.code, pattern, self.out[-3000:])
            assert time.monotonic() < deadline, "no %r in %d s:\n%s" % (pattern, timeout, self.out[-3000:])

    def stop(self):
        """Ctrl-C, as its user would (the terminal's process group: bash and the server)."""
        if self.code is None:
            os.killpg(self.pid, signal.SIGINT)
            deadline = time.monotonic() + 60
            while self.pump() and time.monotonic() < deadline:
                pass
            if self.code is None:
                os.killpg(self.pid, signal.SIGKILL)
                while self.pump():
                    pass


def finish(*terminals, timeout=TIMEOUT_S):
    """Run the terminals side by side until each has ended; each must succeed."""
    deadline = time.monotonic() + timeout
    while any(t.code is None for t in terminals):
        for t in terminals:
            t.pump(0.2)
        assert time.monotonic() < deadline, [t.out[-2000:] for t in terminals]
    for t in terminals:
        assert t.code == 0, t.out[-4000:]
        assert "error" not in t.out, t.out[-4000:]
        assert PASSPHRASE not in t.out and "typed-at-a-prompt" not in t.out      # no echo of a secret


@pytest.fixture
def shells(tmp_path):
    """Each shell's environment: prepay on PATH, a HOME and TMPDIR of its own, no PREPAY_*."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "prepay"
    shim.write_text('#!/bin/sh\nPYTHONPATH=%s exec %s -m host.cli "$@"\n' % (ROOT, sys.executable))
    shim.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "%s:/usr/local/bin:/usr/bin:/bin" % bin_dir, "HOME": str(home), "TMPDIR": str(tmp_path),
           "LANG": "C.UTF-8", "TERM": "dumb"}
    port = free_port()
    opened = []

    def open_shell(*blocks):
        script = "\n".join(blocks).replace("8470", str(port))
        terminal = Terminal(script, env, str(home))
        opened.append(terminal)
        return terminal
    yield open_shell
    for terminal in opened:
        terminal.stop()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_docs_clerk_session_then_every_section_in_one_shell(shells):
    """The sections pasted one after another into the session's shell, as a reader would."""
    session, = sh_blocks("docs/vending.md", "## A clerk's session")
    tokens, = sh_blocks("docs/vending.md", "## Management and key change tokens")
    adjust, = sh_blocks("docs/vending.md", "## Refunds, offsets and credit adjustments")
    reports, = sh_blocks("docs/vending.md", "## Reports")
    audit = sh_blocks("docs/vending.md", "## Audit log")
    shell = shells(session, tokens, adjust, reports, *audit)
    finish(shell)
    out = shell.out
    assert "CREDIT TOKEN" in out and "power-limit token for meter" in out and "confirmed" in out
    assert re.search(r"^\d+:[0-9a-f]{64}\r?$", out, re.M)           # audit head
    assert "1 exported head(s) held" in out and "1 checkpoint(s) held" in out


def test_docs_multi_clerk_station(shells):
    server_machine, admin, alice, bob = sh_blocks("docs/vending.md", "## A multi-clerk station")
    server = shells(server_machine)
    server.wait_for(r"serving http://127\.0\.0\.1:\d+")
    set_up = shells(admin)
    finish(set_up)
    clerks = shells(alice), shells(bob)
    finish(*clerks)
    assert "CREDIT TOKEN" in clerks[0].out and '"operator": "bob"' in clerks[1].out
    assert "REPRINT" in clerks[1].out


def test_readme_station_with_two_clerks(shells):
    session, server_machine, alice, bob = sh_blocks("README.md", "## `prepay vend`")
    server = shells(session, server_machine)
    server.wait_for(r"serving http://127\.0\.0\.1:\d+")
    assert "CREDIT TOKEN" in server.out                          # alice's first sale, in local mode
    clerks = shells(alice), shells(bob)
    finish(*clerks)
    assert "CREDIT TOKEN" in clerks[0].out and "CREDIT TOKEN" in clerks[1].out
    report = clerks[1].out          # the day's sales by clerk (alice's second may still be under way)
    assert re.search(r"mobile +bob +1 +20\.00", report) and re.search(r"cash +alice +[12] +(100|150)\.00", report)
