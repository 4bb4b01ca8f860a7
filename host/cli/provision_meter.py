"""``prepay provision meter``: a meter's console, blank to commissioned (host/provisioning/meter.py)."""
import json
import sys

from host.cli.vend.common import common, passphrase, secret, wrap
from host.parse import wait_arg


def run_meter(args):
    from host.provisioning.meter import provision, summary
    from host.provisioning.vending import open_door, server_url
    tty = sys.stderr.isatty()

    def progress(line, transient):
        if transient and not tty:
            return
        end = "\r" if transient else "\n"
        print(("\r\033[K" if tty else "") + "prepay provision: " + line, end=end,
              file=sys.stderr, flush=True)

    def door():
        return open_door(server_url(args.server), args.operator,
                         lambda: secret("PREPAY_OPERATOR_PASSWORD", "Password for %s: " % args.operator),
                         db=args.db, cacert=args.cacert, passphrase=passphrase)
    report = provision(args.port, args.config, args.meter, door, ir_port=args.ir_port,
                       board=args.board, firmware_image=args.firmware_image,
                       erase=args.erase, progress=progress, boot_timeout_s=args.boot_timeout,
                       ir_timeout_s=args.ir_timeout)
    print(json.dumps(report, indent=2) if args.json else summary(report))


def register_meter(commands):
    p = commands.add_parser(
        "meter", help="a board running MicroPython to a commissioned meter: install the "
        "bundle, configure and key it through its console, self-test it, record it at the "
        "vending station (the technician's own login: technician, supervisor or admin role)")
    p.add_argument("--port", required=True, help="the meter's console: a device or pyserial URL")
    p.add_argument("--ir-port", help="the optical head (IEC 62056-21) for the self-test's "
                   "readout, clock, test token and relay; without it those are skipped")
    p.add_argument("--config", required=True, metavar="METER.json",
                   help="the meter model's configuration (the keys come from the station, "
                   "never from here; an 'online' section gets the command key and broker password)")
    p.add_argument("--meter", required=True, metavar="PAN", help="the meter's 18-digit "
                   "number, registered at the vending station")
    p.add_argument("--board", default="sim", help="the board the bundle is built for "
                   "(default sim; esp32 for a real meter)")
    p.add_argument("--firmware-image", metavar="FIRMWARE.BIN", help="write this MicroPython "
                   "image with esptool first (an ESP32; skipped on the simulated board)")
    p.add_argument("--erase", action="store_true", help="with --firmware-image: erase the "
                   "whole flash first")
    p.add_argument("--boot-timeout", type=wait_arg, default=120, metavar="SECONDS",
                   help="how long the first boot may take (default %(default)s s)")
    p.add_argument("--ir-timeout", type=wait_arg, default=15, metavar="SECONDS",
                   help="how long the meter may take to answer over the optical port (default %(default)s s)")
    p.add_argument("--server", metavar="URL", help="the vending server to get the keys from and "
                   "record the meter at, as the technician (default: PREPAY_SERVER; unset: the "
                   "database itself, on a single station)")
    p.add_argument("--cacert", metavar="PEM", help="with an https:// server: trust this CA file "
                   "(default: PREPAY_SERVER_CACERT, else the system's CAs)")
    common(p, operator=True)
    p.set_defaults(run=wrap(run_meter))
