"""``prepay firmware``: the firmware frozen into MicroPython (``host/firmware/``)."""
import json
import sys

from host.firmware.build import TARGETS, build
from host.firmware.manifest import PORT_BASE, manifest_text


def describe(report):
    how = "cached" if report["cached"] else "built in %.1f s" % report["seconds"]
    return ("%s: %s (%s); %d frozen modules, %d bytes of frozen code in a %d-byte %d-bit "
            "image" % (report["runtime"], report["binary"], how, report["frozen_modules"],
                       report["frozen_bytes"] or 0, report["binary_bytes"], report["bits"]))


def run_build(args):
    runtimes = list(TARGETS) if args.runtime == "all" else [args.runtime]
    reports = [build(r, micropython_src=args.micropython_src, force=args.force)
               for r in runtimes]
    print(json.dumps(reports if args.runtime == "all" else reports[0], indent=2) if args.json
          else "\n".join(describe(r) for r in reports))


def run_manifest(args):
    sys.stdout.write(manifest_text(args.board, args.port))


def register(sub, name, help_text):
    parser = sub.add_parser(name, help=help_text, description=help_text)
    commands = parser.add_subparsers(dest="firmware_command", metavar="FIRMWARE_COMMAND",
                                     required=True)
    p = commands.add_parser(
        "build", help="build the MicroPython Unix port with the firmware frozen in (cached)",
        description="Build mpy-cross and the MicroPython Unix port with the sim board's "
        "firmware frozen in, from the pinned MicroPython source; the result is cached by "
        "a hash of its inputs (the source, the compiler, every frozen file).")
    p.add_argument("--runtime", default="frozen32", choices=list(TARGETS) + ["all"],
                   help="frozen32: i686, static, the ESP32's int and pointer width "
                   "(default); frozen64: the host's gcc")
    p.add_argument("--micropython-src", metavar="DIR",
                   help="a MicroPython source tree at the pinned commit (default: the shared "
                   "source subset, else a git clone)")
    p.add_argument("--force", action="store_true", help="build even when the cache has it")
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(run=run_build)
    p = commands.add_parser("manifest", help="print the frozen manifest made from the "
                            "bundle's file list")
    p.add_argument("--board", default="sim", help="board directory under boards/ (default sim)")
    p.add_argument("--port", default="unix", choices=sorted(PORT_BASE),
                   help="the MicroPython port it is for (default unix)")
    p.set_defaults(run=run_manifest)
