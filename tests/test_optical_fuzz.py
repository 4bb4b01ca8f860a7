"""A quick fuzz of the optical port in both runtimes (the full count is
bench/fuzz_iec62056.py): random and mutated frames change nothing, raise nothing, and
the port still answers a proper sign-on afterwards."""
DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "400K"   # the whole app loaded as .mpy files into the heap

from dualrt import tmp_dir
from optical_fuzz import fuzz
from optical_kit import Bench

FRAMES = 1500


def test_random_frames_change_nothing():
    bench = Bench(tmp_dir("optical-fuzz"))
    cfg_before = repr(bench.app.meter.cfg)
    writes_before = bench.app.store.writes
    fuzz(bench, FRAMES, seed=7)
    assert bench.engine.fault is None
    assert repr(bench.app.meter.cfg) == cfg_before
    assert not [e for e in bench.app.meter.events.items
                if e[2] == "optical" and e[3].startswith("write")]
    assert bench.app.meter.balance_micro() == 0
    assert bench.engine.errors > 0
    bench.run(200000)                       # any session left open times out
    assert bench.talk(b"/?!\r\n") == b"/PPm5PREPAY\r\n"
    assert bench.app.store.writes >= writes_before   # only lockout and event saves
