"""A simulator session (``host.sim.runner.Sim``) driven by several scripts, as the
benches and the optical-port tests drive it: one firmware process from power-on to the
end. (A second process on the same state would share its flash image: run_script used
to start one for every script.)"""
import os
import shutil

import pytest

from host.sim.runner import Sim, SimError, run_script
from host.sim.script import parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "boards", "sim", "examples", "electricity-unit.json")


def test_scripts_run_one_after_another_on_the_same_meter(tmp_path):
    state = str(tmp_path)
    shutil.copy(CONFIG, os.path.join(state, "meter.json"))
    sim = Sim(state, heap="64K", runtime="frozen32", heap_mode="off",
              out=open(os.devnull, "w"))
    try:
        assert run_script(sim, parse("at 2026-11-23T08:00\nload 1kW", state), sim.out) is None
        meter = sim.meter.proc
        assert run_script(sim, parse("advance 90m\nstatus", state), sim.out) is None
        assert run_script(sim, parse("advance 30m", state), sim.out) is None
        assert sim.meter.proc is meter and meter.poll() is None
        with pytest.raises(SimError, match="the meter is already on"):
            sim.power_on()
        assert sim.status()["time"] == "2026-11-23T10:00:00"
        sim.power_cut()
        assert meter.poll() is not None
        sim.power_on()                  # off, then on again: a new power-on
        assert sim.meter.proc is not meter and sim.status()["time"] == "2026-11-23T10:00:00"
    finally:
        if sim.meter is not None:
            sim.meter.kill()


def test_a_load_change_where_an_advance_ends_counts_from_then(tmp_path):
    """A load schedule's change at the very end of an advance is the load from then on:
    one advance over it and two advances meeting at it meter the same energy (the
    second advance used to start after the change and keep the old load)."""
    import sys
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from bench_sim import CONFIG as TOU, script
    head = script(1, "unused").splitlines()[:2]         # at 08:00, a token
    energies = []
    for advances in (["advance 2h"], ["advance 1h", "advance 1h"]):
        state = str(tmp_path / str(len(advances)))
        os.mkdir(state)
        shutil.copy(TOU, os.path.join(state, "meter.json"))
        sim = Sim(state, heap="64K", runtime="frozen32", heap_mode="off",
                  out=open(os.devnull, "w"))
        try:
            lines = head + ["load schedule 00:00=1kW 09:00=3kW"] + advances
            assert run_script(sim, parse("\n".join(lines), state), sim.out) is None
            energies.append(sim.status()["import_milli"])
        finally:
            sim.meter.kill()
    assert energies == [4000, 4000]
