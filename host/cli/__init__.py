"""The ``prepay`` command: parse arguments, hand them to one job, print the answer.

Each command has its own module here (``host/cli/<command>.py``, as esptool has one file
per command) with ``register(subparsers)``; it only wires the command line to a job
package's functions (``host.vending``, ``host.sim``, ``host.provisioning``, ``tokens``);
no job package imports it (``tests/test_cli_shape.py``). Flags follow one vocabulary
(``host/cli/vocabulary.py``). Errors the user can cause are raised as ``UserError`` (or
the codec's ``TokenError``) and end as one line on stderr, exit 2.
"""
import argparse
import importlib
import re
import sys

from host.errors import UserError
from host.text import shown

# (subcommand, module, one-line help). Modules are imported only when their command runs.
COMMANDS = [
    ("token", "host.cli.token", "encode, decode and build STS tokens"),
    ("key", "host.cli.key", "derive STS decoder keys (DKGA02/DKGA04)"),
    ("vend", "host.cli.vend", "vending station: customers, meters, keys, sales, receipts, reports"),
    ("sim", "host.cli.sim", "the simulated meter: the firmware on the MicroPython Unix port"),
    ("read", "host.cli.read", "read a meter through its optical port (IEC 62056-21), program it"),
    ("provision", "host.cli.provision", "firmware bundles and field images; a blank board to a commissioned meter"),
    ("firmware", "host.cli.firmware", "build MicroPython with the firmware frozen in"),
    ("web", "host.cli.web", "the web console: operators' counter, accounts and reports; customers' self-service"),
    ("headend", "host.cli.headend", "the head-end: online meters over MQTT, alarms, notifications, signed commands"),
    ("fleet", "host.cli.fleet", "simulate a fleet of online meters publishing over MQTT"),
]


class Parser(argparse.ArgumentParser):
    """argparse with its errors in one line, as the commands' own (``--help`` has the usage);
    the subcommands' parsers are of this class too. Every (sub)command's ``--help`` says what
    it does: its one-line help when it has no description, docstrings' reST as plain text."""

    def __init__(self, *args, **kwargs):
        if kwargs.get("description"):
            kwargs["description"] = plain(kwargs["description"])
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Described)

    def error(self, message):
        self.exit(2, "%s: error: %s\n" % (self.prog, shown(message)))


def plain(text):
    """A module docstring's first paragraph as terminal text: no ``prepay x``: prefix (the
    usage line names the command) and no reST double backquotes."""
    text = re.sub(r"^``prepay[^`]*``:\s*", "", text.strip())
    return text.replace("``", "")


class _Described(argparse._SubParsersAction):
    def add_parser(self, name, **kwargs):
        if kwargs.get("help") and not kwargs.get("description"):
            kwargs["description"] = kwargs["help"]
        return super().add_parser(name, **kwargs)


def build_parser(argv):
    parser = Parser(prog="prepay", description="Prepay: open-source prepaid utility metering tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = argv[0] if argv else None
    for name, module_name, help_text in COMMANDS:
        if name == wanted:
            importlib.import_module(module_name).register(sub, name, help_text)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    from tokens.errors import TokenError
    try:
        return args.run(args) or 0
    except (UserError, TokenError) as exc:
        print("prepay %s: error: %s" % (args.command, shown(exc)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
