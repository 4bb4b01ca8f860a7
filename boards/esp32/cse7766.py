"""CSE7766 energy metering chip: parse its UART frames into integer mV, mA, mW, mWh.

The chip sends a 24-byte frame every 50 ms, 4800 Bd 8E1, and never listens.
Frame layout (Chipsea CSE7766 datasheet, UART section; cross-checked against ESPHome
``esphome/components/cse7766/cse7766.cpp``):

  byte   0      state: 0x55 normal; 0xAA not calibrated; 0xFx error bits:
                bit3 voltage cycle out of range, bit2 current cycle out of range,
                bit1 power cycle out of range (= no active power), bit0 coefficient
                storage corrupt
  byte   1      check byte, always 0x5A
  bytes  2-4    voltage coefficient    bytes  5-7    voltage cycle
  bytes  8-10   current coefficient    bytes 11-13   current cycle
  bytes 14-16   power coefficient      bytes 17-19   power cycle      (24-bit, MSB first)
  byte  20      update flags: 0x40 voltage, 0x20 current, 0x10 power measured this frame
  bytes 21-22   CF pulse counter, 16-bit, wraps at 65536
  byte  23      checksum: low byte of the sum of bytes 2..22

Quantity = coefficient / cycle (V, A, W on a module calibrated at the factory, such as
the Sonoff POW R2). ``*_scale`` says how many output units one such unit is worth:
1000 gives mV, mA, mW; a board with another shunt or divider sets its own scale. One CF
pulse is power_coefficient / 3.6e9 Wh (ESPHome: energy = pulses * coefficient / 1e6 /
3600 Wh). All arithmetic is integer and, apart from lifetime totals, stays below 2**30
so nothing is heap-allocated on an ESP32.
"""
from const import const

_FRAME_LEN = const(24)
_CHECK_BYTE = const(0x5A)
_STATE_OK = const(0x55)
_STATE_NOT_CALIBRATED = const(0xAA)
_ERROR_VOLTAGE = const(0x08)
_ERROR_CURRENT = const(0x04)
_ERROR_POWER_RANGE = const(0x02)
_ERROR_STORAGE = const(0x01)
_UPDATED_VOLTAGE = const(0x40)
_UPDATED_CURRENT = const(0x20)
_UPDATED_POWER = const(0x10)

_SMALL_INT_MAX = const(0x3FFFFFFF)
_CF_PERIOD = const(1 << 16)


class FrameError(ValueError):
    """A frame that must not be used (bad header, bad checksum, chip error)."""


def muldiv(a, b, c):
    """a * b // c for a, c < 2**24 without intermediates of 2**30 or more."""
    if c <= 0:
        return 0
    q, r = divmod(a, c)
    limit = _SMALL_INT_MAX // b
    while c > limit:  # drop low bits of divisor and remainder together
        c >>= 1
        r >>= 1
    return q * b + r * b // c


def _u24(frame, i):
    return (frame[i] << 16) | (frame[i + 1] << 8) | frame[i + 2]


def is_header(byte):
    return byte == _STATE_OK or byte == _STATE_NOT_CALIBRATED or byte & 0xF0 == 0xF0


def checksum(frame):
    total = 0
    for i in range(2, _FRAME_LEN - 1):
        total += frame[i]
    return total & 0xFF


def decode(frame, voltage_scale=1000, current_scale=1000, power_scale=1000):
    """One frame -> (voltage_mv or None, current_ma, power_mw, cf_pulses, power_coeff).

    Raises FrameError for a frame that must be dropped.
    """
    if len(frame) != _FRAME_LEN:
        raise FrameError("frame length %d" % len(frame))
    state = frame[0]
    if frame[1] != _CHECK_BYTE or not is_header(state):
        raise FrameError("bad header %02x %02x" % (state, frame[1]))
    if checksum(frame) != frame[_FRAME_LEN - 1]:
        raise FrameError("bad checksum")
    if state == _STATE_NOT_CALIBRATED:
        raise FrameError("chip not calibrated")
    power_out_of_range = False
    if state != _STATE_OK:
        if state & (_ERROR_VOLTAGE | _ERROR_CURRENT | _ERROR_STORAGE):
            raise FrameError("chip error %02x" % state)
        power_out_of_range = bool(state & _ERROR_POWER_RANGE)
    updated = frame[20]
    voltage_mv = None
    if updated & _UPDATED_VOLTAGE:
        voltage_mv = muldiv(_u24(frame, 2), voltage_scale, _u24(frame, 5))
    current_ma = 0
    if updated & _UPDATED_CURRENT:
        current_ma = muldiv(_u24(frame, 8), current_scale, _u24(frame, 11))
    power_mw = 0
    power_coeff = _u24(frame, 14)
    if updated & _UPDATED_POWER and not power_out_of_range:
        power_mw = muldiv(power_coeff, power_scale, _u24(frame, 17))
    cf_pulses = (frame[21] << 8) | frame[22]
    return voltage_mv, current_ma, power_mw, cf_pulses, power_coeff


class Cse7766:
    """Reads frames from a UART (4800 8E1), keeps the latest values and the energy."""

    def __init__(self, uart, voltage_scale=1000, current_scale=1000, power_scale=1000):
        self._uart = uart
        self._scales = (voltage_scale, current_scale, power_scale)
        self._mwh_divisor = 3600000000 // power_scale  # coefficient*pulses per mWh
        self._frame = bytearray(_FRAME_LEN)
        self._index = 0
        self._last_cf = None
        self._energy_acc = 0
        self._energy_mwh = 0
        self.voltage_mv = None
        self.current_ma = 0
        self.power_mw = 0
        self.frames = 0
        self.errors = 0
        self.last_error = None

    def poll(self):
        """Read what the UART holds; returns the number of good frames decoded."""
        n = self._uart.any()
        if not n:
            return 0
        data = self._uart.read(n)
        return self.feed(data) if data else 0

    def feed(self, data):
        good = 0
        frame = self._frame
        for byte in data:
            i = self._index
            if i == 0 and not is_header(byte):
                continue
            if i == 1 and byte != _CHECK_BYTE:
                if is_header(byte):
                    frame[0] = byte
                else:
                    self._index = 0
                continue
            frame[i] = byte
            self._index = i + 1
            if self._index == _FRAME_LEN:
                self._index = 0
                if self._accept(frame):
                    good += 1
                else:
                    self._resync()
        return good

    def take_energy_mwh(self):
        """Energy in mWh since the previous call."""
        mwh = self._energy_mwh
        self._energy_mwh = 0
        return mwh

    def _accept(self, frame):
        try:
            v, i, p, cf, coeff = decode(frame, *self._scales)
        except FrameError as exc:
            self.errors += 1
            self.last_error = str(exc)
            return False
        self.frames += 1
        self.voltage_mv, self.current_ma, self.power_mw = v, i, p
        if self._last_cf is not None:
            delta = (cf - self._last_cf) % _CF_PERIOD
            self._energy_acc += delta * coeff
            whole = self._energy_acc // self._mwh_divisor
            self._energy_acc -= whole * self._mwh_divisor
            self._energy_mwh += whole
        self._last_cf = cf
        return True

    def _resync(self):
        """After a bad frame, restart at the next header + check byte inside it."""
        frame = self._frame
        for start in range(1, _FRAME_LEN):
            if is_header(frame[start]) and (start == _FRAME_LEN - 1
                                            or frame[start + 1] == _CHECK_BYTE):
                kept = frame[start:]
                frame[:len(kept)] = kept
                self._index = len(kept)
                return
