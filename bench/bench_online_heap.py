"""An online meter's heap on the 32-bit frozen build (issue 16): bench_heap.py's 30-day
household story (bench_sim's TOU meter, one token, an hourly profile) with the meter
online, its MQTT task publishing to a real broker (Debian's mosquitto on a free loopback
port, as tests/test_online_broker.py starts it) and the optical port's task idle beside
it; then the same story offline for comparison. bench_heap.py (issue 12's) is left as it
is: this is the flag it would need, as a bench of its own.

Prints the live heap after boot and its peak (``prepay sim``'s figures: after a
collection at each wake-up), the messages the broker passed on, and the smallest
``-X heapsize`` from which every size up to TOP_K runs the story with no MemoryError and no
task crash (STEP_K steps). Prints the load average beside the figures: the machine is
shared and the time figures are noisy (the heap figures are not).

    python bench/bench_online_heap.py [--no-search]
"""
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from bench_sim import CONFIG, HOURLY_W, measured_at, script  # noqa: E402
from host.errors import UserError  # noqa: E402
from host.sim.runner import Sim, firmware_for, run_script  # noqa: E402
from host.sim.script import parse  # noqa: E402
from test_online_broker import BROKER_PASSWORD, CMD_KEY, Broker, HeadEnd  # noqa: E402

RUNTIME = "frozen32"
DAYS = 30
TOP_K = 80
STEP_K = 2
BOTTOM_K = 56
ROOMY = "200K"
TIME_LIMIT_S = 900       # the online story takes 3-4 min on a loaded machine


def run(heap, broker):
    """The story in ``heap``; returns (status, sim, messages the head-end got)."""
    state = tempfile.mkdtemp(prefix="bench-online-")
    headend = HeadEnd(broker.port) if broker else None
    try:
        profile = os.path.join(state, "household.csv")
        with open(profile, "w") as f:
            f.write("\n".join("%02d:00,%d" % (h, w) for h, w in enumerate(HOURLY_W)) + "\n")
        with open(CONFIG) as f:
            cfg = json.load(f)
        if broker:
            cfg["online"] = {"broker": "127.0.0.1:%d" % broker.port,
                             "command_key": CMD_KEY.hex(), "broker_password": BROKER_PASSWORD}
        with open(os.path.join(state, "meter.json"), "w") as f:
            json.dump(cfg, f)
        text = script(DAYS, profile).replace("\nadvance", "\nserve 2s\nadvance")
        sim = Sim(state, heap=heap, heap_mode="step", out=open(os.devnull, "w"),
                  runtime=RUNTIME, firmware=FIRMWARE)
        try:
            run_script(sim, parse(text + "\nserve 2s\nstatus", state), open(os.devnull, "w"))
        except BaseException:       # a failed or interrupted run leaves no meter process
            if sim.meter is not None:
                sim.meter.kill()
            raise
        sim.finish()
        time.sleep(1)
        got = len(headend.got) if headend else 0
        return sim.last_status, sim, got
    finally:
        if headend:
            headend.close()
        shutil.rmtree(state, ignore_errors=True)


class TimeLimit(Exception):
    pass


def _alarm(signum, frame):
    raise TimeLimit()


def passes(heap_k, broker):
    """None when the story runs in ``heap_k`` KB, else why not (a task restarting every
    second in a heap too small can take many times the story's time: a limit)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        status = run("%dK" % heap_k, broker)[0]
    except TimeLimit:
        return "over the %d s time limit" % TIME_LIMIT_S
    except UserError as exc:
        return str(exc).splitlines()[0]
    finally:
        signal.alarm(0)
    if status["crashes"]:
        return "%d task crash(es)" % status["crashes"]
    if status["online"] is None:
        return "stayed offline: less than the MQTT task's reserve free at start"
    return None


def main(search=True):
    global FIRMWARE
    FIRMWARE = firmware_for(RUNTIME)
    print("%s %s; load average %s" % (RUNTIME, measured_at(RUNTIME, FIRMWARE),
                                      " ".join("%.1f" % x for x in os.getloadavg())))
    folder = tempfile.mkdtemp(prefix="bench-broker-")
    broker = Broker(folder)
    try:
        for label, b in (("online", broker), ("offline", None)):
            t0 = time.perf_counter()
            status, sim, got = run(ROOMY, b)
            online = status.get("online") or {}
            print("%-8s %d-day story: live heap after boot %6d B, peak %6d B (board %d B); "
                  "%d messages at the broker, %d published, crashes %d; %.0f s wall"
                  % (label, DAYS, sim.heap_boot, sim.heap_peak, status["sim"]["heap_board"],
                     got, online.get("published", 0), status["crashes"],
                     time.perf_counter() - t0))
        if search:
            heap_k, last_why = TOP_K, None
            while heap_k >= BOTTOM_K:
                why = passes(heap_k, broker)
                if why is not None:
                    last_why = why
                    break
                heap_k -= STEP_K
            print("online   smallest reliable heap: %dK (%dK fails: %s); load average %s"
                  % (heap_k + STEP_K, heap_k, last_why,
                     " ".join("%.1f" % x for x in os.getloadavg())))
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main("--no-search" not in sys.argv[1:])
