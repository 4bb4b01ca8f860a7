"""The application's pure parts in both runtimes: the meter.json split and the customer
interface (keypad -> token acceptance -> display) on a real meter core."""
DUAL_RUNTIME = True

import app_config
from app_ui import Ui
from dualrt import raises
from meter import civil
from meter.acceptance import TokenAcceptor
from meter.config import ConfigError
from meter.core import Meter
from meter.store import MemoryStore
from tokens import build
from tokens.tid import tid_at

KEY = "87f3ecbb2e46b48f"
T0 = civil.seconds(2026, 11, 23, 8, 0)


def raw(**over):
    cfg = {"utility": "electricity", "credit_mode": "unit",
           "sts": {"key": KEY, "algorithm": "sta", "krn": 1, "kt": 2, "ti": 1, "sgc": 201457},
           "identity": {"pan": "600727000000000009", "serial": "X1"},
           "board": {"name": "sim"}}
    for k in over:
        cfg[k] = over[k]
    return cfg


def test_split_hands_the_core_only_its_keys():
    core, sts, identity, display, board = app_config.split(raw())
    assert "sts" not in core and "board" not in core and core["utility"] == "electricity"
    assert sts["key"] == KEY and sts["base_date"] == 2014 and identity["serial"] == "X1"
    assert board == {"name": "sim"} and display == {"currency": "", "decimals": 2}
    assert "key" not in app_config.public(sts)
    assert app_config.split(raw(sts={"krn": 2}))[1]["key"] is None    # delivered already


def test_split_names_the_bad_field():
    bad_pan = raw(identity={"pan": "600727000000000008"})
    assert "identity.pan" in str(raises(ConfigError, app_config.split, bad_pan))
    short_key = raw(sts={"key": "87f3", "algorithm": "sta"})
    assert "sts.key" in str(raises(ConfigError, app_config.split, short_key))
    typo = raw(sts={"key": KEY, "krnn": 1})
    assert "sts.krnn" in str(raises(ConfigError, app_config.split, typo))
    assert "sts" in str(raises(ConfigError, app_config.split, {"utility": "water"}))


def test_typed_token_is_accepted_and_shown():
    # the host codec's cipher tables first, while the test's heap is in one piece
    token = build.credit_token(bytes.fromhex(KEY), "sta", "electricity",
                               tid_at(2014, 2026, 11, 23, 8, 0), 255).digits
    core, sts, _, display, _ = app_config.split(raw())
    store = MemoryStore()
    meter = Meter(core, store, T0)
    acceptor = TokenAcceptor(meter, store, sts, T0, tid_at(2014, 2026, 11, 22, 8, 0))
    ui = Ui(meter, acceptor, display)
    for k in token:
        ui.key(T0, k)
    assert ui.display.render(T0)[0].startswith(token[:4] + " " + token[4:8])
    ui.key(T0, "#")
    assert meter.balance_micro() == 25500000
    line1, line2, _ = ui.display.render(T0)
    assert line1.strip() == "Accept" and line2.strip() == "Token OK"
    line1, line2, _ = ui.display.render(T0 + 3)
    assert line1.startswith("Added") and line1.endswith("+25.5kWh")
    assert line2.startswith("Credit") and line2.endswith("25.5kWh")
    for k in "#01#":
        ui.key(T0 + 20, k)
    assert "25.5kWh" in ui.display.render(T0 + 20)[0]
