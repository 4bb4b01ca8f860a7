"""The interactive face of ``prepay sim``: the meter's display and indicators in the
terminal, keys typed go to its keypad, virtual time follows real time.

Keys: 0-9 * # A-E the keypad; ``b`` the push button; ``:`` one script command (e.g.
``:load 2kW``, ``:advance 1d``, ``:tamper cover on``), ``:status`` the meter's status,
``:help`` the commands; ``q`` switch off and quit.
"""
import io
import json
import os
import select
import sys
import termios
import time
import tty

from host.sim.runner import FIELD_ORDER, Sim, run_command
from host.sim.script import KEYS, ScriptError, help_text, parse_line

TICK_S = 0.25


def draw(status, note):
    """The face; ``status`` None is a meter without power (dark display)."""
    if status is None:
        d = (" " * 16, " " * 16)
        state = " no power: ':power on' switches it on"
        when = ""
    else:
        d = status["display"]
        ind = status["indicators"]
        flags = " ".join(name.upper() for name in ("alarm", "tamper", "lockout") if ind[name])
        state = " supply %-7s %s" % (status["supply"].upper(), flags)
        when = " %s  credit %s %s" % (status["time"], status["credit"], status["credit_unit"])
    lines = [
        "+------------------+",
        "| %s |" % d[0],
        "| %s |" % d[1],
        "+------------------+",
        state,
        when,
        " keys 0-9 * # A-E, b button, : command (:help lists them), q quit",
    ] + [" " + line for line in note.splitlines()]
    sys.stdout.write("\x1b[H\x1b[2J" + "\r\n".join(lines) + "\r\n")
    sys.stdout.flush()


HELP = ("keys 0-9 * # A-E: the keypad; b: the push button; q: switch off and quit\n"
        ":help this list; :status the meter's status; any script command after ':':\n"
        + help_text())


def face_command(sim, line):
    """A ':' command; returns what the face shows under the meter until the next key."""
    word = line.strip().lower()
    if word in ("help", "?"):
        return HELP
    if word == "status":
        if not sim.on or sim.cut:
            return "no power: the meter has no status to give"
        status = sim.status()
        return "\n".join("%-16s %s" % (k, v if isinstance(v, str) else json.dumps(v))
                         for k, v in ((k, status.get(k)) for k in FIELD_ORDER + ("books",))
                         if k in status)
    cmd = parse_line(0, line, os.getcwd())
    if cmd is None:
        return ""
    said = io.StringIO()
    run_command(sim, cmd, said)
    return said.getvalue().strip() or "ok: " + line.strip()


def interactive(args):
    if not sys.stdin.isatty():
        print("prepay sim: the interactive face needs a terminal; use --script FILE or -",
              file=sys.stderr)
        return 2
    sim = Sim(args.state, heap=args.heap, heap_mode="off", romfs=not args.files,
              runtime=args.runtime, ir_link=args.ir_port)
    sim.power_on()
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    note = "optical port: %s" % (args.ir_port or sim.ir.path)
    last = time.monotonic()
    try:
        tty.setcbreak(fd)
        while True:
            now = time.monotonic()
            ms = int((now - last) * 1000)
            last = now
            if ms > 0:
                sim.advance(ms)
            powered = sim.on and not sim.cut
            draw(sim.status() if powered else None, note)
            if powered:     # real time: the meter answers its optical port meanwhile
                sim.serve(int(TICK_S * 1000))
                last = time.monotonic()
            ready, _, _ = select.select([sys.stdin], [], [], 0 if powered else TICK_S)
            if not ready:
                continue
            ch = os.read(fd, 1).decode(errors="replace")
            if ch == "q":
                break
            if ch in KEYS + "b" and not powered:
                note = "no power: the keypad is dark"
            elif ch in KEYS and ch != " ":
                sim.send("keys " + ch)
            elif ch == "b":
                sim.send("button 1")
            elif ch == ":":
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
                line = input(":")
                tty.setcbreak(fd)
                try:
                    note = face_command(sim, line)
                except (ValueError, ScriptError) as exc:
                    note = "error: %s" % exc
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        sim.finish()
    return 0
