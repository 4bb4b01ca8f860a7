"""The simulator's link to ``prepay sim``: one command per stdin line, one reply per
command on stdout as ``@@`` + JSON, and the driver that moves virtual time.

Commands (already checked by the launcher, which speaks the script language):
``advance MS``, ``at SECONDS``, ``load MW`` (mW, or mL/h for flow), ``keys KEYS``,
``button N``, ``tamper NAME 0|1``, ``battery PERCENT``, ``network 0|1`` (the network
service down or up, ``net.py``), ``powerfail`` (the power-fail
signal; the launcher kills the process after it), ``serve MS`` (real time: virtual time
follows the wall clock for MS and the optical port is answered as bytes arrive),
``status``, ``heapmap [START END]`` (the live heap's block map, ``micropython.mem_info(1)``,
on the console, and with addresses its bytes: bench_heap's census, ``heapdump``), ``quit``.

Every reply carries the virtual time (``ms``), where the relay/valve is (``switch``)
and the flash's block writes, so the launcher can keep the physical world (RTC,
contacts) across a power cut. When the flash has been cut (``PREPAY_SIM_CUT``), the
reply is ``{"cut": true, ...}`` and the process waits to be killed: the power is gone.

Heap: with ``PREPAY_SIM_HEAP=step`` the heap is collected after every wake-up and the
live heap recorded; ``heap_peak`` is the largest, ``heap_boot`` the live heap after
boot. Garbage a step makes and drops is not in the figure: the proof that a budget is
enough is a run under ``-X heapsize`` of that size. ``heap_board`` is the simulator's own
share of it: the board's parts, its flash device and LittleFS mount, as built. Status
replies are streamed (``json.dump`` to stdout), so they need no string of their size;
the short ones (time, switch, writes) go out in one write.
"""
import asyncio
import gc
import json
import sys

from const import const

_SETTLE_ROUNDS = const(1000)
_SERVE_TICK_MS = const(50)         # serve: the longest the port is left unlooked at
_SERVE_REFRESH_MS = const(1000)    # serve: polling tasks (keypad, display) catch up this often


class Driver:
    def __init__(self, board, app):
        self.board = board
        self.app = app
        self.clock = board.clock
        self.measure = board.heap_mode == "step"
        self.heap_peak = 0
        self.heap_boot = 0
        self.steps = 0
        self.refreshed = None   # serve_real: when polling tasks last caught up

    async def settle(self):
        """Let every woken task run until it sleeps again."""
        clock = self.clock
        for _ in range(_SETTLE_ROUNDS):
            await asyncio.sleep_ms(0)
            if clock.awake <= 0:
                await asyncio.sleep_ms(0)
                if clock.awake <= 0:
                    break
        self.steps += 1
        if self.measure:
            gc.collect()
            used = gc.mem_alloc()
            if used > self.heap_peak:
                self.heap_peak = used

    async def boot(self):
        clock = self.clock
        quiet = 0
        while quiet < 3:
            before = clock.activity
            await asyncio.sleep_ms(0)
            quiet = quiet + 1 if clock.activity == before else 0
        clock.awake = 0
        gc.collect()
        self.heap_boot = gc.mem_alloc()
        if self.heap_boot > self.heap_peak:
            self.heap_peak = self.heap_boot

    async def advance(self, ms):
        clock = self.clock
        target = clock.ms + ms
        while not self.cut():
            t = clock.next_wake()
            if t is None or t > target:
                break
            if t > clock.ms:
                clock.ms = t
            clock.wake_due()
            await self.settle()
        if not self.cut():
            clock.ms = target       # polling tasks catch up when the script next looks

    async def serve_real(self, ms):
        """Run in real time for ``ms``: time jumps by what the wall clock moved, and
        bytes at the optical port wake the task that reads it (``wake="ir"``). Polling
        tasks (keypad, display, supply drive) catch up every ``_SERVE_REFRESH_MS`` across
        calls too: the console board and the HIL rig serve in slices shorter than that."""
        import time
        clock = self.clock
        port = self.board.ir_port
        start = last = time.ticks_ms()
        if self.refreshed is None:
            self.refreshed = start
        refreshed = self.refreshed
        while not self.cut():
            now = time.ticks_ms()
            step = time.ticks_diff(now, last)
            last = now
            if step > 0:
                await self.advance(step)
            if time.ticks_diff(now, refreshed) >= _SERVE_REFRESH_MS:
                refreshed = self.refreshed = now
                clock.kick()
                await self.settle()
            left = ms - time.ticks_diff(now, start)
            if left <= 0 or self.cut():
                break
            t = clock.next_wake()
            wait = left if t is None else max(0, min(left, t - clock.ms))
            if port.wait(min(wait, _SERVE_TICK_MS)):
                clock.kick("ir")
                await self.settle()
            if self.board.network.readable():   # the MQTT task's socket (net.py)
                clock.kick("net")
                await self.settle()

    async def nudge(self, tag="*"):
        """Input arrived: the tasks watching it run now, then the display catches up."""
        self.clock.kick(tag)
        await self.settle()
        self.clock.kick()
        await self.settle()

    def cut(self):
        return not self.board.flash.powered

    def reply(self, data):
        b = self.board
        data["ms"] = self.clock.ms
        data["switch"] = b.supply.position
        data["writes"] = b.flash.writes
        if self.cut():
            data["cut"] = True
        out = sys.stdout
        if "status" in data or "sim" in data:   # streamed: no string of its size
            out.write("@@")
            json.dump(data, out)
            out.write("\n")
        else:       # a few dozen bytes: one write, not one per token
            out.write("@@%s\n" % json.dumps(data))

    def sim_info(self):
        b = self.board
        return {"measures": "power" if b.metering is not None else "flow",
                "heap_peak": self.heap_peak, "heap_boot": self.heap_boot,
                "heap_board": b.heap_own,
                "steps": self.steps, "wakeups": self.clock.wakeups,
                "flash_writes": b.flash.writes, "flash": type(b.flash).__name__,
                "redraws": b.display.redraws,
                "board_display": list(b.display.lines), "leds": b.leds.on,
                "switch_operations": b.supply.operations, "beeps": b.buzzer.beeps}

    async def command(self, words):
        b = self.board
        cmd = words[0]
        if cmd == "advance":
            await self.advance(int(words[1]))
        elif cmd == "at":
            b.rtc.set_s(int(words[1]))
            await self.settle()
            await self.nudge()
        elif cmd == "load":
            b.load.set_rate(int(words[1]))
            self.clock.kick("metering")
            await self.settle()
        elif cmd == "keys":
            b.keypad.keys += words[1]
            self.clock.urgent = True
            await self.nudge()
            while b.keypad.keys and not self.cut():
                await self.advance(20)
            self.clock.urgent = False
            await self.nudge()
        elif cmd == "button":
            b.button.presses += int(words[1])
            await self.nudge()
        elif cmd == "tamper":
            b.tamper.set(words[1], words[2] == "1")
            await self.nudge()
        elif cmd == "battery":
            b.battery.pct = int(words[1])
            await self.nudge()
        elif cmd == "network":
            b.network.up = words[1] == "1"
            await self.nudge("net")
        elif cmd == "serve":
            await self.serve_real(int(words[1]))
            await self.nudge()
        elif cmd == "powerfail":
            b.power_fail.signal()
            await self.nudge()
        elif cmd == "status":
            await self.nudge()
            data = self.app.status(self.app.now())
            data["sim"] = self.sim_info()
            return {"status": data}
        elif cmd == "heapmap":          # the live heap block by block, on the console
            gc.collect()
            import micropython
            micropython.mem_info(1)
            if len(words) == 3:         # and its bytes from START to END, with names
                from boards.sim.heapdump import dump
                dump(int(words[1]), int(words[2]))
        elif cmd == "quit":
            return None
        else:
            return {"error": "unknown link command %r" % cmd}
        return {}

    async def serve(self):
        await self.boot()
        self.reply({"ready": True, "sim": self.sim_info()})
        readline = sys.stdin.readline
        while True:
            line = readline()
            if not line:
                sys.exit(0)
            words = line.split()
            if not words:
                continue
            if self.cut():
                self.reply({})
                continue
            result = await self.command(words)
            if result is None:
                self.reply({"bye": True, "sim": self.sim_info()})
                sys.exit(0)
            self.reply(result)


async def serve(board, app):
    await Driver(board, app).serve()
