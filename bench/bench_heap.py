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
from TOP_K down in STEP_K steps until the first failure; the smallest reliable heap is
the last size that passed, so every size from it to TOP_K has passed. The census sorts
the live heap by kind (functions, modules, dicts, ...) from ``micropython.mem_info(1)``'s
block map, after the first day and at the end. Prints numbers.

    python bench/bench_heap.py [RUNTIME ...]
"""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_sim import run  # noqa: E402
from host.errors import UserError  # noqa: E402

DAYS = 30
TOP_K = 200
STEP_K = 2
BOTTOM_K = 32
ROOMY = "2M"
TIME_LIMIT_S = 120   # the 30-day story takes 3-10 s; a small heap can loop restarting tasks
RUNTIMES = ("stock", "frozen64", "frozen32")


# micropython.mem_info(1) marks each block: the head's type, '=' for the rest of it
KINDS = (("B", "functions"), ("M", "modules"), ("D", "dicts"), ("T", "tuples"),
         ("L", "lists"), ("S", "str/bytes"), ("A", "buffers"),
         ("h", "other: instances, classes, dict tables, names"))
MAP_LINE = re.compile(r"^[0-9a-f]{8}: (.*)$")


def census(runtime, days):
    """Bytes of live heap by kind at the end of a ``days`` story, from the block map."""
    lines = []

    def heap_map(sim):
        keep = sim.console
        sim.console = lines.append
        sim.send("heapmap")
        sim.console = keep

    run(days, False, ROOMY, runtime, at_end=heap_map)
    block = 16 if runtime == "frozen32" else 32          # 4 machine words
    blocks, kind = {}, None
    for line in lines:
        found = MAP_LINE.match(line)
        for mark in found.group(1) if found else "":
            if mark == "=" and kind is not None:
                blocks[kind] = blocks.get(kind, 0) + 1
            else:
                kind = mark if mark in dict(KINDS) else None
                if kind is not None:
                    blocks[kind] = blocks.get(kind, 0) + 1
    return {name: blocks.get(mark, 0) * block for mark, name in KINDS}


class TimeLimit(Exception):
    pass


def _alarm(signum, frame):
    raise TimeLimit()


def registers(status):
    return {k: status[k] for k in ("credit_micro", "import_milli", "books")}


def failure(runtime, heap_k, expected):
    """Why the story fails in ``heap_k`` KB, or None when it passes."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        status = run(DAYS, False, "%dK" % heap_k, runtime)[1]
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


def smallest_reliable(runtime, expected):
    """(smallest KB from which every size up to TOP_K passed, first failing KB, why)."""
    heap_k = TOP_K
    while heap_k >= BOTTOM_K:
        why = failure(runtime, heap_k, expected)
        if why is not None:
            return heap_k + STEP_K, heap_k, why
        heap_k -= STEP_K
    return BOTTOM_K, None, None


def main(runtimes):
    for runtime in runtimes:
        wall, status, _ = run(DAYS, True, ROOMY, runtime)
        info = status["sim"]
        if status["crashes"]:
            print("%s: %d task crash(es) even in %s; no figures" % (runtime, status["crashes"],
                                                                    ROOMY))
            continue
        smallest, failed, why = smallest_reliable(runtime, registers(status))
        print("%-9s %d-day household story: live heap after boot %6d B, peak %6d B "
              "(board %d B); every -X heapsize from %dK to %dK passes" % (
                  runtime, DAYS, info["heap_boot"], info["heap_peak"],
                  info.get("heap_board", 0), smallest, TOP_K))
        if failed is not None:
            print("%-9s   %dK fails: %s" % ("", failed, why[:200]))
        for days in (1, DAYS):
            print("%-9s   census after %2d day(s): %s" % ("", days, ", ".join(
                "%s %d B" % kv for kv in census(runtime, days).items())))
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:] or RUNTIMES)
