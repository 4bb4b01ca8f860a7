"""Every repository file the README's commands name exists, so each line runs as printed
(``--script story.txt`` once named a file nobody shipped)."""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = re.compile(r"(?<![\w/.$-])((?:boards|docs|firmware|host|tests|bench|tokens)/[\w./*-]*[\w*])")


def test_files_named_in_readme_blocks_exist():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```[^\n]*\n(.*?)```", f.read(), re.S)
    named = {m for block in blocks for m in PATH.findall(block)}
    assert "boards/sim/examples/story.txt" in named
    missing = sorted(p for p in named if not glob.glob(os.path.join(ROOT, p)))    # globs match
    assert not missing, missing
