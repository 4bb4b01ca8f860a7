"""The ESP32's network service (``board.network``): Wi-Fi in station mode on
``network.WLAN``, from the board section's ``"wifi": {"ssid": ..., "password": ...}``.

``connected()`` is what the MQTT task asks before each turn; it starts an association
when there is none, at most every ``_RETRY_MS`` (``WLAN.connect`` returns at once, the
radio associates in the background), so a meter out of range costs nothing but that
call. ``poll_ms``: the task looks at its socket this often (asyncio cannot wait on it
here). Metering, tokens and the display never wait for any of this."""
from const import const

_RETRY_MS = const(30000)
POLL_MS = const(250)


class Wifi:
    poll_ms = POLL_MS

    def __init__(self, ssid, password, ticks_ms, ticks_diff):
        import network
        self.ssid = ssid
        self._password = password
        self.ticks_ms = ticks_ms
        self.ticks_diff = ticks_diff
        self.wlan = network.WLAN(network.STA_IF)
        self.wlan.active(True)
        self.attempts = 0
        self.tried_at = None

    def connected(self):
        if self.wlan.isconnected():
            return True
        now = self.ticks_ms()
        if self.tried_at is None or self.ticks_diff(now, self.tried_at) >= _RETRY_MS:
            self.tried_at = now
            self.attempts += 1
            try:
                self.wlan.connect(self.ssid, self._password)
            except OSError:         # the radio is busy (already associating)
                pass
        return False

    def watch(self, poller):
        pass


def check(section):
    """The board's ``wifi`` section: (ssid, password), or None without one."""
    if section is None:
        return None
    if not isinstance(section, dict) or any(k not in ("ssid", "password") for k in section):
        raise ValueError("board.wifi: must be {\"ssid\": ..., \"password\": ...}")
    ssid = section.get("ssid")
    password = section.get("password", "")
    if not isinstance(ssid, str) or not 0 < len(ssid) <= 32:
        raise ValueError("board.wifi.ssid: 1..32 characters")
    if not isinstance(password, str) or len(password) > 64:
        raise ValueError("board.wifi.password: up to 64 characters")
    return ssid, password
