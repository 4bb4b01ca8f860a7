"""``prepay fleet``: simulated online meters publishing over MQTT (host/headend/fleet.py):
the ledger's meters (their keys from the custody, so tokens sold to them are accepted)
and synthetic ones beyond, one reading each per period."""

from host.errors import UserError
from host.parse import int_arg
from host.cli.vend.common import common, emit, open_station, secret, wrap
from host.cli.headend import host_port


def register(sub, name, help_text):
    p = common(sub.add_parser(name, help=help_text, description=help_text + ". The keystore passphrase "
                              "(PREPAY_KEYSTORE_PASSPHRASE) gives the meters their command keys."))
    p.add_argument("--meters", type=int_arg, required=True, metavar="N", help="how many meters")
    p.add_argument("--meter", action="append", metavar="PAN", help="these ledger meters (else the first N)")
    p.add_argument("--broker", default="127.0.0.1:1883", metavar="HOST:PORT",
                   help="the MQTT broker the meters publish to (default 127.0.0.1:1883)")
    p.add_argument("--cafile", metavar="PEM", help="TLS, trusting this CA")
    p.add_argument("--gateway-user", help="publish as this gateway user (PREPAY_GATEWAY_PASSWORD) instead of "
                   "one connection per meter with its own broker password")
    p.add_argument("--connections", type=int_arg, default=4, help="gateway connections (default 4)")
    p.add_argument("--every", type=int_arg, default=900, metavar="SECONDS", help="reading period (default 900)")
    p.add_argument("--duration", type=int_arg, metavar="SECONDS", help="stop after this (default: Ctrl-C)")
    p.set_defaults(run=wrap(_fleet))


def _fleet(args):
    from host.headend import fleet
    station = open_station(args)
    meters = fleet.meters_for(station, args.meters, args.meter)
    if not meters:
        raise UserError("no meters to simulate")
    host, port = host_port(args.broker)
    if args.gateway_user:
        sim = fleet.Fleet(meters, host, port, args.cafile, connections=args.connections,
                          gateway=(args.gateway_user, secret("PREPAY_GATEWAY_PASSWORD", "Gateway password: ")))
    else:
        sim = fleet.Fleet(meters, host, port, args.cafile, credentials=fleet.broker_passwords(station, meters))
    sim.start()
    emit(args, ({"meters": [m.pan for m in meters]}, "%d meters online: %s" % (
        len(meters), " ".join(m.pan for m in meters[:5]) + (" ..." if len(meters) > 5 else ""))))
    try:
        sent, _ = fleet.run(sim, args.every, args.duration,
                            report=lambda n, s: emit(args, ({"readings": n, "seconds": round(s, 1)},
                                                            "%d readings in %.0f s" % (n, s))))
    except KeyboardInterrupt:
        sent = sim.published
    finally:
        sim.stop()
        station.engine.dispose()
    return {"readings": sent}, "%d readings published" % sent
