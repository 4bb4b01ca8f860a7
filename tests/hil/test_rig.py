"""A real board's rig says why it cannot drive a step (the suite skips it with that
reason) instead of doing nothing: every step without its bench part or hook."""
import pytest

from rig import BoardRig, StepUnavailable, firmware_hash


@pytest.mark.parametrize("step, args, reason", [
    ("keys", ("1#",), "no keypad test hook"),
    ("set_load", (1000,), "no bench load"),
    ("status", (), "no console status hook"),
    ("power_cut", (), "no supply relay"),
    ("advance", (3600,), "real time"),
    ("identity", (), "no console"),
    ("expected_firmware_hash", (), "--bundle"),
])
def test_a_board_rig_without_the_part_says_why(step, args, reason):
    with pytest.raises(StepUnavailable, match=reason):
        getattr(BoardRig(None, "/dev/null"), step)(*args)


def test_the_firmware_hash_ignores_configuration_and_records():
    code = {"boot.py": b"b", "main.py": b"m", "lib/app.mpy": b"a"}
    assert firmware_hash(dict(code, **{"meter.json": b"{}", "rec/meter": b"x"})) \
        == firmware_hash(code) != firmware_hash(dict(code, **{"lib/app.mpy": b"A"}))
