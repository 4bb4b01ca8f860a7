"""The meter under test: a real board when --port or --ir-port is given, else a
simulated meter this suite starts for each test (tests/hil/rig.py)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rig import BoardRig, SimRig, StepUnavailable  # noqa: E402


@pytest.fixture
def rig(request, tmp_path):
    option = request.config.getoption
    if option("--port") or option("--ir-port"):
        made = BoardRig(option("--port"), option("--ir-port"), option("--power-cmd"),
                        option("--bundle"))
    else:
        made = SimRig(str(tmp_path / "meter"), str(tmp_path / "ir"))
    yield made
    made.close()


@pytest.fixture
def need():
    """``need(rig.step, args...)``: run a step, or skip the test saying why the rig
    cannot drive it."""
    def run(step, *args):
        try:
            return step(*args)
        except StepUnavailable as exc:
            pytest.skip("%s rig: %s" % (getattr(step.__self__, "kind", "?"), exc))
    return run
