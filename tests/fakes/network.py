"""A stand-in for MicroPython's ``network`` module on the ESP32: ``WLAN`` in station
mode, whose association the test decides (``fake_wlan().fake_associate(True)``)."""
STA_IF = 0
AP_IF = 1
_wlans = {}


def fake_reset():
    _wlans.clear()


def fake_wlan(interface=STA_IF):
    return _wlans[interface]


class WLAN:
    def __init__(self, interface=STA_IF):
        self.interface = interface
        self.is_active = False
        self.joins = []             # (ssid, password) of every connect()
        self.associated = False
        _wlans[interface] = self

    def active(self, on=None):
        if on is None:
            return self.is_active
        self.is_active = bool(on)
        return self.is_active

    def connect(self, ssid, password):
        if not self.is_active:
            raise OSError("Wifi Not Started")
        self.joins.append((ssid, password))

    def isconnected(self):
        return self.is_active and self.associated

    def disconnect(self):
        self.associated = False

    def fake_associate(self, on):
        self.associated = on
