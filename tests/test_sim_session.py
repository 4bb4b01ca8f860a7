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
