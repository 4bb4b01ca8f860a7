"""The firmware's heap in ``prepay sim``, per runtime: the live heap and the smallest heap
every larger one of which runs the story.

Story: bench_sim.py's, for 30 days (the TOU meter, one token, an hourly household
profile). Runtimes: ``stock`` (the PyPI 64-bit port, modules from ROMFS), ``frozen64`` and
``frozen32`` (MicroPython built with the firmware frozen in; frozen32 has the ESP32's
32-bit width). The *live* heap is what is in use after a collection at each wake-up
(``prepay sim``'s figure); ``board`` is the simulator's own share of it.

A run in a given ``-X heapsize`` passes only if it finishes in TIME_LIMIT_S, with no
MemoryError, no task crash (the firmware survives a crashed task by restarting it:
that is a failure here) and with the registers of a run in a large heap. Sizes are tried
from TOP_K (per runtime) down in STEP_K steps until the first failure; the smallest
reliable heap is the last size that passed, so every size from it to TOP_K has passed.
Every run of a runtime uses the build it started with (``firmware_for``), and the figures
say which commit they were measured at. The census sorts the live heap by kind
(functions, module globals, classes, instances, data, buffers, tasks, names: ``Heap``)
from ``micropython.mem_info(1)``'s block map and the heap's bytes
(``boards/sim/heapdump.py``), after boot and at the end, with the largest holders (a
module with its functions and data, a class, a class's instances). Prints numbers.

    python bench/bench_heap.py [--census] [RUNTIME ...]     (--census: no size search)
"""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_sim import measured_at, run  # noqa: E402
from host.errors import UserError  # noqa: E402
from host.sim.runner import firmware_for  # noqa: E402

DAYS = 30
TOP_K = {"stock": 300, "frozen64": 200, "frozen32": 200}   # above the largest a run needs
STEP_K = 2
BOTTOM_K = 32
ROOMY = "2M"
TIME_LIMIT_S = 120   # the 30-day story takes 3-10 s; a small heap can loop restarting tasks
RUNTIMES = ("stock", "frozen64", "frozen32")
TOP_HOLDERS = 30


def census(runtime, days, firmware=None):
    """The live heap at the end of a ``days`` story (a ``Heap``)."""
    heap, block = [], 16 if runtime == "frozen32" else 32     # 4 machine words

    def look(sim):
        heap.append(Heap(heap_lines(sim, block), block))

    run(days, False, ROOMY, runtime, at_end=look, firmware=firmware)
    return heap[0]


def heap_lines(sim, block, margin=8192):
    """The meter's console lines for its block map and, asked again with the pool's
    address, its bytes and names (boards/sim/heapdump.py)."""
    lines = []
    keep = sim.console
    sim.console = lines.append
    try:
        sim.send("heapmap")
        first = Heap(lines, block)
        del lines[:]
        sim.send("heapmap %d %d" % (first.start, first.start + first.used_end + margin))
    finally:
        sim.console = keep
    return lines


# micropython.mem_info(1)'s block map: one character a block, the head's type or '=' for
# the rest of it ('.' free); 'h' is any other type, and the census finds out which
MAP_START = re.compile(r"GC memory layout; from (?:0x)?([0-9a-fA-F]+):")
MAP_LINE = re.compile(r"^([0-9a-f]{8}): (.*)$")
QSTR_LINE = re.compile(r"qstr pool: .*n_total_bytes=(\d+)")
BUFFERS = {"bytearray", "memoryview", "array"}
FUNCTIONS = {"function", "closure", "bound_method", "staticmethod", "classmethod",
             "property"}
TASKS = {"generator", "Task", "TaskQueue"}
KINDS = ("functions", "module globals", "classes", "instances", "data", "buffers", "tasks",
         "names", "unreached")


class Heap:
    """One look at the live heap: every block in use sorted by what it is.

    A block's kind comes from its first word, its type: functions (functions, closures,
    bound methods), module globals (modules and their dicts), classes (the firmware's
    classes and their method dicts), instances (objects of those classes and their
    attribute tables), data (dicts, lists, tuples, strings, big ints), buffers
    (bytearray, array, memoryview), tasks (coroutines, asyncio's tasks). A block without
    a type word (a dict's table, a list's items, a buffer's bytes) is its owner's, the
    first typed block pointing at it; names are the interned strings (``qstr_info``) and
    unreached what nothing typed points at (the stacks, the interpreter's own). Who holds
    what: a module, a class or a class's instances, with what they alone point at."""

    def __init__(self, lines, block):
        self.block, self.start, self.word = block, None, block // 4
        self.marks, self.memory = [], bytearray()
        self.names, self.modules, self.qstr_bytes = {}, {}, 0
        for line in lines:
            found = MAP_START.search(line)
            if found:
                self.start, self.marks = int(found.group(1), 16), []
                continue
            found = MAP_LINE.match(line)
            if found and self.start is not None:
                at = int(found.group(1), 16) // block
                self.marks[len(self.marks):] = "." * (at - len(self.marks))
                self.marks[at:] = found.group(2)
                continue
            words = line.split(" ")
            if words[0] == "@mem":
                self.memory += bytes.fromhex(words[2])
            elif words[0] == "@type":
                self.names[int(words[1])] = words[2]
            elif words[0] == "@module":
                self.modules[int(words[1])] = words[2]
            elif QSTR_LINE.search(line):
                self.qstr_bytes = int(QSTR_LINE.search(line).group(1))
        used = [i for i, mark in enumerate(self.marks) if mark != "."]
        self.used_end = (used[-1] + 1) * block if used else 0

    def heads(self):
        """{block: number of blocks} of every allocation in the map."""
        found, current = {}, None
        for i, mark in enumerate(self.marks):
            if mark == "=" and current is not None:
                found[current] += 1
            elif mark == ".":
                current = None
            else:
                current = i
                found[i] = 1
        return found

    def _word(self, offset):
        raw = self.memory[offset:offset + self.word]
        return int.from_bytes(raw, "little") if len(raw) == self.word else None

    def _kind(self, b):
        """(kind, holder) of a typed block, None for raw storage."""
        typ, here = self._word(b * self.block), self.start + b * self.block
        name = self.names.get(typ)
        if name is None:
            return None
        if self.start <= typ < self.start + len(self.memory):     # the firmware's class
            return "instances", name + " instances"
        name = name.rsplit(".", 1)[-1]          # a built-in type, whichever module named it
        if name == "module":
            return "module globals", "module " + self.modules.get(here, "?")
        if name == "type" and here in self.names:
            return "classes", "class " + self.names[here]
        if name in FUNCTIONS:
            return "functions", None
        if name in BUFFERS:
            return "buffers", None
        if name in TASKS:
            return "tasks", "tasks"
        return "data", None

    def _dict(self, b):
        return self.names.get(self._word(b * self.block), "").rsplit(".", 1)[-1] == "dict"

    def _namespace(self, owner, at, child, kind):
        """Is ``child`` a module's globals (the module's second word) or a class's dict?"""
        if kind.get(child) != "data" or not self._dict(child):
            return False
        return (kind[owner] == "classes" or kind[owner] == "module globals"
                and at == owner * self.block + self.word)

    def census(self):
        """({kind: bytes}, {holder: bytes})."""
        heads = self.heads()
        address = {self.start + b * self.block: b for b in heads}
        kind, holder = {}, {}
        for b in heads:
            found = self._kind(b)
            if found is not None:
                kind[b], holder[b] = found
        # owners first, so what a module, class or instance alone points at is theirs
        order = {"module globals": 0, "classes": 1, "instances": 2, "tasks": 3}
        queue = sorted(kind, key=lambda b: order.get(kind[b], 9))
        for b in queue:
            for at in range(b * self.block, (b + heads[b]) * self.block, self.word):
                child = address.get(self._word(at))
                if child is None or child == b:
                    continue
                if child not in kind or self._namespace(b, at, child, kind):
                    kind[child], holder[child] = kind[b], holder[b]   # the owner's storage
                    queue.append(child)
                elif holder[child] is None and holder[b] is not None:
                    holder[child] = holder[b]           # data or code only it holds
                    queue.append(child)
        totals, held = dict.fromkeys(KINDS, 0), {}
        for b, n in heads.items():
            totals[kind.get(b, "unreached")] += n * self.block
            if holder.get(b):
                held[holder[b]] = held.get(holder[b], 0) + n * self.block
        totals["names"] = min(self.qstr_bytes, totals["unreached"])
        totals["unreached"] -= totals["names"]
        return totals, held


class TimeLimit(Exception):
    pass


def _alarm(signum, frame):
    raise TimeLimit()


def registers(status):
    return {k: status[k] for k in ("credit_micro", "import_milli", "books")}


def failure(runtime, heap_k, expected, firmware=None):
    """Why the story fails in ``heap_k`` KB, or None when it passes."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        status = run(DAYS, False, "%dK" % heap_k, runtime, firmware=firmware)[1]
    except TimeLimit:
        return "over the %d s time limit" % TIME_LIMIT_S
    except UserError as exc:    # a MemoryError ends prepay sim with one line
        return str(exc).splitlines()[0]
    finally:
        signal.alarm(0)
    if status["crashes"]:
        return "%d task crash(es)" % status["crashes"]
    if registers(status) != expected:
        return "registers differ from the roomy run: %r" % registers(status)
    return None


def smallest_reliable(runtime, expected, firmware=None):
    """(smallest KB from which every size up to the top passed, or None when the top
    fails; the first failing KB; why)."""
    top = heap_k = TOP_K[runtime]
    while heap_k >= BOTTOM_K:
        why = failure(runtime, heap_k, expected, firmware)
        if why is not None:
            return (heap_k + STEP_K if heap_k < top else None), heap_k, why
        heap_k -= STEP_K
    return BOTTOM_K, None, None


def main(runtimes, census_only=False):
    for runtime in runtimes:
        firmware = firmware_for(runtime)    # one build for every run, whatever is edited
        print("%-9s %s" % (runtime, measured_at(runtime, firmware)))
        wall, status, _ = run(DAYS, True, ROOMY, runtime, firmware=firmware)
        info = status["sim"]
        if status["crashes"]:
            print("%s: %d task crash(es) even in %s; no figures" % (runtime, status["crashes"],
                                                                    ROOMY))
            continue
        print("%-9s %d-day household story: live heap after boot %6d B, peak %6d B "
              "(board %d B)" % (runtime, DAYS, info["heap_boot"], info["heap_peak"],
                                info.get("heap_board", 0)))
        if not census_only:
            smallest, failed, why = smallest_reliable(runtime, registers(status), firmware)
            if smallest is None:
                print("%-9s   fails already in %dK" % ("", TOP_K[runtime]))
            else:
                print("%-9s   every -X heapsize from %dK to %dK passes"
                      % ("", smallest, TOP_K[runtime]))
            if failed is not None:
                print("%-9s   %dK fails: %s" % ("", failed, why[:200]))
        for days in (0, DAYS):
            totals, held = census(runtime, days, firmware).census()
            print("%-9s   census after %2d day(s), %d B live: %s" % (
                "", days, sum(totals.values()),
                ", ".join("%s %d" % kv for kv in totals.items())))
            top = sorted(held.items(), key=lambda kv: -kv[1])[:TOP_HOLDERS]
            print("%-9s     largest holders: %s" % ("", ", ".join("%s %d" % kv for kv in top)))
        sys.stdout.flush()


if __name__ == "__main__":
    args = sys.argv[1:]
    only = "--census" in args
    main([a for a in args if a != "--census"] or RUNTIMES, only)
