"""The ESP32's network service on the tests' fake ``network`` module, in both runtimes:
built only when the board section has ``wifi``, it associates in the background, retries
every 30 s while out of range and never blocks, and its settings are checked with the
field named."""
import sys

from dualrt import TESTS_DIR, raises

sys.path.insert(0, TESTS_DIR + "/fakes")
if not hasattr(sys.modules.get("machine"), "fake_reset"):
    sys.modules.pop("machine", None)  # the Unix port's own machine has no Pin
import esp32  # noqa: E402,F401
import machine  # noqa: E402
import network  # noqa: E402

from boards.esp32.board import build_board  # noqa: E402
from boards.esp32.wifi import check  # noqa: E402

DUAL_RUNTIME = True


def test_no_wifi_section_no_network_service():
    machine.fake_reset()
    network.fake_reset()
    board = build_board({"variant": "electricity"}, ticks_ms=machine.fake_ticks_ms)
    assert board.network is None


def test_wifi_associates_in_the_background_and_retries():
    machine.fake_reset()
    network.fake_reset()
    board = build_board({"variant": "electricity",
                         "wifi": {"ssid": "utility-net", "password": "s3cret-wpa"}},
                        ticks_ms=machine.fake_ticks_ms)
    net = board.network
    wlan = network.fake_wlan()
    assert wlan.active() and net.poll_ms == 250
    assert not net.connected() and wlan.joins == [("utility-net", "s3cret-wpa")]
    machine.fake_advance_ms(10000)
    assert not net.connected() and len(wlan.joins) == 1       # not before 30 s
    machine.fake_advance_ms(20000)
    assert not net.connected() and len(wlan.joins) == 2
    wlan.fake_associate(True)
    assert net.connected() and len(wlan.joins) == 2
    wlan.fake_associate(False)                  # out of range: the next try at once
    machine.fake_advance_ms(30000)
    assert not net.connected() and len(wlan.joins) == 3
    net.watch(None)


def test_wifi_settings_are_checked():
    assert check(None) is None
    assert check({"ssid": "a"}) == ("a", "")
    for bad, field in (({"ssid": ""}, "board.wifi.ssid"), ({"ssid": "x" * 33}, "board.wifi.ssid"),
                       ({"ssid": "a", "password": 5}, "board.wifi.password"),
                       ({"ssid": "a", "pwd": "x"}, "board.wifi"), ("net", "board.wifi")):
        assert field in str(raises(ValueError, check, bad))
