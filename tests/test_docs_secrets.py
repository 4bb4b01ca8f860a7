"""The docs' shell sessions type secrets at prompts: none is written on a command line
(``ps``, the shell's history), as README.md promises. Passwords, passphrases and keys
given as ``VAR=value`` or echoed into a file are refused; ``read -rsp`` and placeholders
(``$VAR``) are not secrets."""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSIGNED = re.compile(r"\b(PREPAY_\w*(?:PASSWORD|PASSPHRASE|KEY|SECRET)\w*)=(?![\s$\"]|\.\.\.)(\S+)")
ECHOED_KEY = re.compile(r"\b(?:echo|printf)\s+['\"]?[0-9a-fA-F]{16,}")


def shell_lines():
    for path in ["README.md"] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            for block in re.findall(r"```(?:sh|bash)?\n(.*?)```", f.read(), re.S):
                for line in block.splitlines():
                    yield os.path.relpath(os.path.join(ROOT, path), ROOT), line


def test_no_secret_on_a_command_line_in_the_docs():
    lines = list(shell_lines())
    assert len(lines) > 100
    found = [(p, l) for p, l in lines if ASSIGNED.search(l.split("  #")[0]) or ECHOED_KEY.search(l)]
    assert not found, found


def test_the_rules_catch_what_they_are_for():
    assert ASSIGNED.search("export PREPAY_METER_PASSWORD=tech-0815")
    assert ASSIGNED.search("PREPAY_KEYSTORE_PASSPHRASE='demo passphrase' prepay web serve")
    assert ECHOED_KEY.search("echo abababababababab949494949494949401234567 > vk.hex")
    assert not ASSIGNED.search("export PREPAY_OPERATOR=admin PREPAY_OPERATOR_PASSWORD")
