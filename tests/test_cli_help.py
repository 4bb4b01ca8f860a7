"""Every command's and subcommand's ``--help`` says what it does, in plain text.

The tree is walked from the CLI's own parsers (each command of ``host.cli.COMMANDS``
registered as when it runs), so a new command or subcommand is checked without being
listed here."""
import argparse

import pytest

from host.cli import COMMANDS, build_parser


def parsers(command):
    def walk(parser, path):
        yield path, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from walk(child, path + " " + name)
    root = build_parser([command])
    yield from walk(root._subparsers._group_actions[0].choices[command], "prepay " + command)


@pytest.mark.parametrize("command", [name for name, _, _ in COMMANDS])
def test_every_help_has_a_plain_description(command):
    seen = 0
    for path, parser in parsers(command):
        seen += 1
        text = parser.format_help()
        assert parser.description and parser.description.strip(), path + " --help has no description"
        assert " ".join(parser.description.split())[:40] in " ".join(text.split()), path
        assert "``" not in text, path + " --help shows reST markup"
    assert seen >= 1


def test_the_tree_is_walked():
    assert sum(1 for _ in parsers("vend")) > 20      # vend's subcommands are reached too


def test_fleet_broker_is_described_with_its_default():
    fleet = dict(parsers("fleet"))["prepay fleet"]
    broker = next(a for a in fleet._actions if "--broker" in a.option_strings)
    assert broker.help and "127.0.0.1:1883" in broker.help


def test_read_help_shows_the_job_as_optional():
    read = dict(parsers("read"))["prepay read"]
    assert "[JOB]" in read.format_usage()
