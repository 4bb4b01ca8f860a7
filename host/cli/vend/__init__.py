"""``prepay vend``: the vending station's command line, one module per subcommand (wiring
only; the work is in ``host.vending``).

Secrets never come from arguments: the keystore passphrase from
``PREPAY_KEYSTORE_PASSPHRASE`` or a prompt, the acting operator's password from
``PREPAY_OPERATOR_PASSWORD`` or a prompt, a new operator's password from
``PREPAY_NEW_OPERATOR_PASSWORD`` or a prompt, vending keys from a file.
The acting operator is ``--operator NAME`` or ``PREPAY_OPERATOR``.

With ``--server URL`` (or ``PREPAY_SERVER``) every command runs on the vending server
(``prepay vend serve``) as the operator logged in there; without it (local mode) the
command opens the database itself: a single-operator station, or administration on the
server machine.
"""
import importlib

SUBCOMMANDS = ("init", "serve", "operator", "key", "tariff", "customer", "meter", "sell", "token", "adjust",
               "payments", "audit", "report")


def register(sub, name, help_text):
    parser = sub.add_parser(name, help=help_text, description=help_text + ". Local mode (no --server) opens "
                            "the database itself: for a single-operator station and for administration on "
                            "the server machine; clerks at a multi-clerk station go through 'prepay vend serve' "
                            "with --server. See docs/vending.md.")
    parser.add_argument("--server", metavar="URL", help="run the command on this vending server as the "
                        "operator (default: PREPAY_SERVER; unset: local mode)")
    parser.add_argument("--cacert", metavar="PEM", help="with an https:// server: trust this CA file (the "
                        "station's own CA; default: PREPAY_SERVER_CACERT, else the system's CAs)")
    vend = parser.add_subparsers(dest="vend_command", metavar="SUBCOMMAND", required=True)
    for module in SUBCOMMANDS:
        importlib.import_module("host.cli.vend." + module).register(vend)
