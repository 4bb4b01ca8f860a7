"""The README's `prepay token` and `prepay key` examples work as printed."""
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def examples():
    """(command, expected output lines) for each '$ prepay token|key' line of README.md."""
    lines = open(os.path.join(ROOT, "README.md")).read().splitlines()
    found = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"\$ (printf .*\| )?prepay (token|key) ", line):
            command = line[2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + lines[i].strip()
            expected = []
            while i + 1 < len(lines) and lines[i + 1] and not lines[i + 1].startswith(("$", "```")):
                i += 1
                expected.append(lines[i])
            found.append((command.split("  #")[0].strip(), expected))
        i += 1
    return found


EXAMPLES = examples()


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example(command, expected):
    stdin = None
    if command.startswith("printf"):
        printf, command = command.split(" | ", 1)
        stdin = subprocess.run(["bash", "-c", printf], capture_output=True, text=True).stdout
    args = shlex.split(command)
    assert args[0] == "prepay"
    proc = subprocess.run([sys.executable, "-m", "host.cli"] + args[1:], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[:len(expected)] == expected
