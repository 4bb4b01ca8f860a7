"""``prepay provision``: what a field technician prepares before flashing a meter, and
the meter itself, blank to commissioned, through its console (``provision meter``)."""
import json

from host.cli.provision_meter import register_meter
from host.parse import int_arg
from host.provisioning import image
from host.provisioning.bundle import BOARD_ARCH, DEFAULT_OPT_LEVEL, build_bundle, summary


def run_bundle(args):
    report = build_bundle(args.board, args.config, args.out, opt_level=args.opt, arch=args.arch)
    print(json.dumps(report, indent=2) if args.json else summary(report))


def run_image(args):
    report = image.build_image(args.firmware_image, args.config, args.out, layout=args.layout)
    print(json.dumps(report, indent=2) if args.json else image.summary(report))


def register(sub, name, help_text):
    parser = sub.add_parser(name, help=help_text, description=help_text)
    commands = parser.add_subparsers(dest="provision_command", metavar="PROVISION_COMMAND",
                                     required=True)
    p = commands.add_parser("bundle", help="compile the firmware for one board into a "
                            "deployable bundle (.mpy files + meter.json, and a zip)")
    p.add_argument("--board", required=True, help="board directory under boards/, e.g. esp32")
    p.add_argument("--config", help="the meter configuration (METER.json) to put in the bundle")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--opt", type=int_arg, default=DEFAULT_OPT_LEVEL, choices=(0, 1, 2, 3),
                   help="mpy-cross optimisation level (default %(default)s)")
    p.add_argument("--arch", help="mpy-cross -march for native code (default: the board's, %s)"
                   % ", ".join("%s=%s" % kv for kv in sorted(BOARD_ARCH.items())))
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(run=run_bundle)

    p = commands.add_parser("image", help="one flash image per meter model for an ESP32: "
                            "your MicroPython image plus a LittleFS partition holding the "
                            "bundle and configuration (write it at 0x0)")
    p.add_argument("--firmware-image", required=True, metavar="FIRMWARE.BIN",
                   help="MicroPython's firmware.bin built with boards/esp32/micropython-board")
    p.add_argument("--config", help="the meter model's configuration (METER.json; its "
                   "decoder key is left out)")
    p.add_argument("--out", required=True, help="the field image to write")
    p.add_argument("--layout", choices=sorted(image.PARTITION_TABLES), default="frozen",
                   help="the board's partition table: frozen (default) or romfs (lib/ in "
                   "the romfs partition)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(run=run_image)

    register_meter(commands)
