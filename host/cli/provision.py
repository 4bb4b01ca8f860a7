"""``prepay provision``: what a field technician prepares before flashing a meter."""
import json

from host.parse import int_arg
from host.provisioning.bundle import BOARD_ARCH, DEFAULT_OPT_LEVEL, build_bundle, summary


def run_bundle(args):
    report = build_bundle(args.board, args.config, args.out, opt_level=args.opt, arch=args.arch)
    print(json.dumps(report, indent=2) if args.json else summary(report))


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
