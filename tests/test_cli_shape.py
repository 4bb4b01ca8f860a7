"""The command line's shape: a thin door (no job package imports it, none of its modules
queries the database), one vocabulary (every command has --json; old spellings hidden)."""
import argparse
import ast
import os

import pytest

from host.cli import COMMANDS, build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = os.path.join(ROOT, "host")


def imports(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def modules(folder):
    for where, _, files in os.walk(folder):
        yield from (os.path.join(where, name) for name in files if name.endswith(".py"))


def test_no_job_package_imports_the_cli():
    for path in modules(HOST):
        if os.sep + "cli" + os.sep not in path:
            assert not [m for m in imports(path) if m.startswith("host.cli")], path


def test_the_cli_does_not_query_the_database():
    """Transactions, audit entries and queries live in the job packages (host.vending.office)."""
    for path in modules(os.path.join(HOST, "cli")):
        found = [m for m in imports(path) if m.startswith("sqlalchemy") and m != "sqlalchemy.exc"
                 or m in ("host.vending.schema", "host.vending.audit", "host.vending.records")]
        assert not found, (path, found)


def leaves(parser, path=()):
    """(command words, parser) of every command that runs."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        if child is not parser:
            yield from leaves(child, path + (name,))


# what prints no result to give as JSON
NO_RESULT = {("firmware", "manifest"): "prints the manifest file MicroPython's build reads"}


@pytest.mark.parametrize("command", [name for name, _, _ in COMMANDS])
def test_every_command_has_json(command):
    missing = [words for words, parser in leaves(build_parser([command]))
               if words[0] == command and words not in NO_RESULT
               and "--json" not in parser._option_string_actions]
    assert not missing
