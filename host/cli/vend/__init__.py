"""``prepay vend``: the vending station's command line, one module per subcommand (wiring
only; the work is in ``host.vending``).

Secrets never come from arguments: the keystore passphrase from
``PREPAY_KEYSTORE_PASSPHRASE`` or a prompt, the acting operator's password from
``PREPAY_OPERATOR_PASSWORD`` or a prompt, a new operator's password from
``PREPAY_NEW_OPERATOR_PASSWORD`` or a prompt, vending keys from a file.
The acting operator is ``--operator NAME`` or ``PREPAY_OPERATOR``.
"""
import importlib

SUBCOMMANDS = ("init", "operator", "key", "tariff", "customer", "meter", "sell", "token", "adjust",
               "payments", "audit", "report")


def register(sub, name, help_text):
    parser = sub.add_parser(name, help=help_text, description=help_text + ". See docs/vending.md.")
    vend = parser.add_subparsers(dest="vend_command", metavar="SUBCOMMAND", required=True)
    for module in SUBCOMMANDS:
        importlib.import_module("host.cli.vend." + module).register(vend)
