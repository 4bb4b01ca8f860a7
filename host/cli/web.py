"""``prepay web serve``: the vending server with the web console (operators' pages at
``/web/``, customers' at ``/my/``, payment providers' callbacks at ``/pay/NAME``)."""
import json
import os
import sys

from host.errors import UserError
from host.parse import int_arg


def register(subparsers, name, help_text):
    web = subparsers.add_parser(name, help=help_text)
    sub = web.add_subparsers(dest="web_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("serve", help="serve the web console (and the vending server's API) from one process")
    p.add_argument("--db", metavar="URL", help="database URL or SQLite path (default: PREPAY_DB, "
                   "else $XDG_DATA_HOME/prepay/vending.db)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; beyond "
                                                        "loopback give --tls-cert and --tls-key)")
    p.add_argument("--port", type=int_arg, default=8480, help="port (default 8480; 0: any free port)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate chain")
    p.add_argument("--tls-key", metavar="PEM", help="... and this private key")
    p.add_argument("--session-hours", type=int_arg, default=8, help="an operator's session lasts this long")
    p.add_argument("--provider", action="append", default=[], metavar="NAME:OPERATOR",
                   help="accept payment callbacks at /pay/NAME, signed with the secret in "
                        "PREPAY_PROVIDER_SECRET_<NAME>, sold as operator OPERATOR (repeatable)")
    p.add_argument("--json", action="store_true", help="print the URL as a JSON line when ready")
    p.set_defaults(run=_run_serve)


def _providers(specs):
    from host.vending.callbacks import Provider
    found = []
    for spec in specs:
        name, _, operator = spec.partition(":")
        if not name.isascii() or not name.replace("-", "").replace("_", "").isalnum() or not operator:
            raise UserError("--provider %r: write NAME:OPERATOR (letters, digits, - and _ in the name)" % spec)
        env = "PREPAY_PROVIDER_SECRET_" + name.upper().replace("-", "_")
        secret = os.environ.pop(env, "")
        if len(secret) < 16:
            raise UserError("%s must hold the provider's shared secret (16 characters or more)" % env)
        found.append(Provider(name, secret.encode(), operator))
    return found


def _run_serve(args):
    from sqlalchemy.exc import DBAPIError
    from host.cli.vend.common import passphrase
    from host.vending.db import make_engine
    from host.vending.errors import VendError, database_error
    from host.vending.station import Station
    from host.web import app as web_app
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UserError("--tls-cert and --tls-key go together")
    if not 0 < args.session_hours <= 24 * 7:
        raise UserError("--session-hours must be 1 to 168")
    providers = _providers(args.provider)
    try:
        station = Station(make_engine(args.db), passphrase=passphrase())
        os.environ.pop("PREPAY_KEYSTORE_PASSPHRASE", None)      # nothing started from here inherits it
        station.custody()                                       # a wrong passphrase stops here
        station.zone()
    except VendError as exc:
        raise UserError(str(exc))
    except DBAPIError as exc:
        raise UserError(database_error(exc))

    def ready(url):
        line = {"url": url, "console": url + "/web/", "self_service": url + "/my/",
                "database": station.engine.url.render_as_string(hide_password=True)}
        print(json.dumps(line) if args.json else "prepay web: console at %s/web/, customers at %s/my/ "
              "(database %s); Ctrl-C stops" % (url, url, line["database"]), flush=True)

    try:
        web_app.serve(station, args.host, args.port, ready, args.tls_cert, args.tls_key,
                      args.session_hours * 3600, providers)
    except OSError as exc:
        raise UserError("cannot listen on %s port %d: %s" % (args.host, args.port, exc.strerror or exc))
    print("prepay web: server stopped", file=sys.stderr)
