"""``prepay vend serve``: the vending server, the one process that opens the database and
unlocks the keystore; clerks' CLIs use it with ``--server URL``."""

import json
import os
import sys

from host.errors import UserError
from host.parse import int_arg
from host.cli.vend.common import common, passphrase, server_url, wrap


def _serve(vend):
    p = common(vend.add_parser("serve", help="the vending server for clerks' CLIs (--server URL): holds the "
                                             "database and the unlocked keystore; operators log in to it"))
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; beyond "
                                                        "loopback give --tls-cert and --tls-key)")
    p.add_argument("--port", type=int_arg, default=8470, help="port (default 8470; 0: any free port)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate chain")
    p.add_argument("--tls-key", metavar="PEM", help="... and this private key")
    p.add_argument("--checkpoints", metavar="PATH", help="append the keyed audit head to this file or folder "
                   "(default: PREPAY_AUDIT_CHECKPOINTS; see docs/vending.md, Audit log)")
    p.add_argument("--checkpoint-minutes", type=int_arg, default=0, help="at most one checkpoint this often "
                   "(default 0: after every change)")
    p.add_argument("--session-hours", type=int_arg, default=8, help="an operator's session lasts this long (default 8)")
    p.set_defaults(run=wrap(_run_serve))


def _run_serve(args):
    from host.vending import server
    from host.vending.db import make_engine
    from host.vending.station import Station
    if server_url(args):
        raise UserError("serve opens the database itself: leave out --server (and PREPAY_SERVER)")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UserError("--tls-cert and --tls-key go together")
    if not 0 < args.session_hours <= 24 * 7:
        raise UserError("--session-hours must be 1 to 168")
    station = Station(make_engine(args.db), passphrase=passphrase(), checkpoints=args.checkpoints,
                      checkpoint_every_s=args.checkpoint_minutes * 60)
    os.environ.pop("PREPAY_KEYSTORE_PASSPHRASE", None)      # nothing started from here inherits it
    station.custody()                                       # a wrong passphrase stops here
    station.zone()

    def ready(url):
        line = {"url": url, "database": station.engine.url.render_as_string(hide_password=True)}
        print(json.dumps(line) if args.json else "prepay vend: serving %s (database %s); Ctrl-C stops" % (
            url, line["database"]), flush=True)

    try:
        server.serve(station, args.host, args.port, ready, args.tls_cert, args.tls_key, args.session_hours * 3600)
    except OSError as exc:
        raise UserError("cannot listen on %s port %d: %s" % (args.host, args.port, exc.strerror or exc))
    print("prepay vend: server stopped", file=sys.stderr)


def register(vend):
    _serve(vend)
