"""A fake ``machine`` module for driving the ESP32 board drivers without hardware.

The classes follow MicroPython's ``machine`` API (Pin, Timer, UART, I2C, ADC, PWM, RTC,
WDT) closely enough for the drivers in ``boards/esp32``; everything a test uses to act
as the outside world or to look at what a driver did starts with ``fake_``:

* a virtual millisecond clock: ``fake_ticks_ms()``, ``fake_advance_ms(ms)`` (fires due
  Timer callbacks in deadline order, moving the clock to each deadline first);
* pins: ``fake_drive(id, level)`` drives an input from outside (and fires its IRQ on a
  matching edge), ``fake_wire(id, fn)`` makes an input's level a function of other pins
  (a keypad matrix), ``fake_pin(id)`` is the pin's state with its output ``history``;
* ``fake_adc_uv(id, uv)`` sets the voltage an ADC pin sees; UART instances have
  ``fake_inject(bytes)`` and ``fake_written``; I2C instances have ``fake_log``;
* ``fake_reset()`` forgets everything (call it at the start of each test).

Works unchanged under CPython and the MicroPython Unix port (whose own ``machine`` lacks
Pin, UART, ...): the test puts ``tests/fakes`` first on ``sys.path`` and drops any
cached ``sys.modules['machine']`` before importing a driver.
"""

_state = {}
HISTORY_MAX = 128  # output writes remembered per pin (a keypad scan writes many)


def fake_reset():
    """Forget all pins, timers, peripherals and the clock."""
    _state.clear()
    _state["now_ms"] = 0
    _state["pins"] = {}
    _state["timers"] = []
    _state["uarts"] = {}
    _state["i2c"] = {}
    _state["i2c_devices"] = {}  # bus id -> {addr: device}, for buses a driver makes
    _state["pwm"] = {}
    _state["adc_uv"] = {}
    _state["rtc"] = [(2000, 1, 1, 5, 0, 0, 0, 0), 0, b""]  # datetime, set at ms, memory
    _state["wdt"] = None
    _state["irq_disabled"] = 0


# ---- clock and timers -------------------------------------------------------------

def fake_ticks_ms():
    return _state["now_ms"]


def fake_advance_ms(ms):
    """Let ms milliseconds pass, running Timer callbacks when their deadline comes."""
    end = _state["now_ms"] + ms
    while True:
        due = [t for t in _state["timers"] if t._deadline is not None and t._deadline <= end]
        if not due:
            break
        timer = min(due, key=lambda t: t._deadline)
        _state["now_ms"] = timer._deadline
        if timer._mode == Timer.PERIODIC:
            timer._deadline += timer._period
        else:
            timer._deadline = None
        if timer._callback is not None:
            timer._callback(timer)
    _state["now_ms"] = end


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kwargs):
        self.id = id
        self._deadline = None
        self._callback = None
        self._mode = Timer.ONE_SHOT
        self._period = 0
        self.fake_inits = 0
        _state["timers"].append(self)
        if kwargs:
            self.init(**kwargs)

    def init(self, mode=ONE_SHOT, period=-1, callback=None, freq=-1):
        if freq > 0:
            period = 1000 // freq
        if period < 0:
            raise ValueError("period")
        self._mode = mode
        self._period = period
        self._callback = callback
        self._deadline = _state["now_ms"] + period
        self.fake_inits += 1

    def deinit(self):
        self._deadline = None

    def fake_running(self):
        return self._deadline is not None


# ---- pins ---------------------------------------------------------------------------

class _PinState:
    def __init__(self, id):
        self.id = id
        self.mode = -1
        self.pull = -1
        self.out_level = 0
        self.ext_level = None  # driven from outside; None = floating
        self.wire = None
        self.handler = None
        self.trigger = 0
        self._flat_history = []  # ms, level, ms, level, ... (small ints: no heap churn)

    @property
    def history(self):
        """(ms, level) of the last HISTORY_MAX output writes."""
        flat = self._flat_history
        return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    def record(self, level):
        flat = self._flat_history
        flat.append(_state["now_ms"])
        flat.append(level)
        if len(flat) > 2 * HISTORY_MAX:
            del flat[0:2]

    def level(self):
        if self.mode == Pin.OUT:
            return self.out_level
        if self.mode == Pin.OPEN_DRAIN and self.out_level == 0:
            return 0
        if self.wire is not None:
            return self.wire()
        if self.ext_level is not None:
            return self.ext_level
        if self.pull == Pin.PULL_UP or self.mode == Pin.OPEN_DRAIN:
            return 1
        return 0


def fake_pin(id):
    """The state behind pin id (mode, pull, out_level, history, handler)."""
    pins = _state["pins"]
    if id not in pins:
        pins[id] = _PinState(id)
    return pins[id]


def fake_drive(id, level):
    """Drive input pin id to level from outside; fires its IRQ on a matching edge."""
    st = fake_pin(id)
    before = st.level()
    st.ext_level = level
    after = st.level()
    if st.handler is not None and before != after:
        edge = Pin.IRQ_RISING if after else Pin.IRQ_FALLING
        if st.trigger & edge and not _state["irq_disabled"]:
            st.handler(Pin(id))


def fake_wire(id, fn):
    """Make input id read fn() (a function of other pins' levels)."""
    fake_pin(id).wire = fn


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._st = fake_pin(id)
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self._st.mode = mode
        if pull != -1:
            self._st.pull = pull
        if value is not None:
            self.value(value)

    def value(self, x=None):
        if x is None:
            return self._st.level()
        self._st.out_level = 1 if x else 0
        self._st.record(self._st.out_level)
        return None

    def __call__(self, x=None):
        return self.value(x)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False):
        self._st.handler = handler
        self._st.trigger = trigger if handler is not None else 0

    def __repr__(self):
        return "Pin(%r)" % (self.id,)


def disable_irq():
    _state["irq_disabled"] += 1
    return _state["irq_disabled"]


def enable_irq(state=None):
    _state["irq_disabled"] = max(0, _state["irq_disabled"] - 1)


# ---- UART ---------------------------------------------------------------------------

class UART:
    def __init__(self, id, baudrate=115200, **kwargs):
        self.id = id
        self.fake_rx = bytearray()
        self.fake_written = bytearray()
        self.fake_config = {}
        _state["uarts"][id] = self
        self.init(baudrate, **kwargs)

    def init(self, baudrate=None, bits=8, parity=None, stop=1, tx=None, rx=None,
             timeout=0, timeout_char=0, rxbuf=256, txbuf=256):
        config = self.fake_config
        if baudrate is not None:
            config["baudrate"] = baudrate
        config.update(bits=bits, parity=parity, stop=stop, timeout=timeout, rxbuf=rxbuf)
        if tx is not None:
            config["tx"] = tx
        if rx is not None:
            config["rx"] = rx

    def fake_inject(self, data):
        """Bytes arriving on the RX line (kept up to rxbuf bytes, like the driver)."""
        self.fake_rx.extend(data)
        excess = len(self.fake_rx) - self.fake_config.get("rxbuf", 256)
        if excess > 0:
            self.fake_rx = self.fake_rx[excess:]

    def any(self):
        return len(self.fake_rx)

    def read(self, nbytes=None):
        if not self.fake_rx:
            return None
        n = len(self.fake_rx) if nbytes is None else min(nbytes, len(self.fake_rx))
        data = bytes(self.fake_rx[:n])
        self.fake_rx = self.fake_rx[n:]
        return data

    def readinto(self, buf, nbytes=None):
        n = len(buf) if nbytes is None else nbytes
        data = self.read(n)
        if data is None:
            return None
        buf[:len(data)] = data
        return len(data)

    def write(self, buf):
        self.fake_written.extend(buf)
        return len(buf)

    def deinit(self):
        pass


def fake_uart(id):
    return _state["uarts"][id]


# ---- I2C ----------------------------------------------------------------------------

class I2C:
    """Records every write as (addr, bytes) in fake_log; devices answer reads."""

    def __init__(self, id=0, scl=None, sda=None, freq=400000):
        self.id = id
        self.freq = freq
        self.fake_log = []
        # addr -> object with read(n) / read_mem(reg, n) -> bytes, optional write_mem
        self.fake_devices = _state["i2c_devices"].setdefault(id, {})
        _state["i2c"][id] = self

    def scan(self):
        return sorted(self.fake_devices)

    def writeto(self, addr, buf, stop=True):
        self.fake_log.append((addr, bytes(buf)))
        return 1

    def writevto(self, addr, vector, stop=True):
        joined = bytearray()
        for part in vector:
            joined.extend(part)
        self.fake_log.append((addr, bytes(joined)))
        return 1

    def readfrom(self, addr, nbytes, stop=True):
        device = self.fake_devices.get(addr)
        if device is None:
            raise OSError(19)  # ENODEV, as the real I2C reports a missing ACK
        return device.read(nbytes)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self.fake_log.append((addr, bytes([memaddr]) + bytes(buf)))
        device = self.fake_devices.get(addr)
        if device is None:
            raise OSError(19)
        if hasattr(device, "write_mem"):
            device.write_mem(memaddr, bytes(buf))

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        device = self.fake_devices.get(addr)
        if device is None:
            raise OSError(19)
        return device.read_mem(memaddr, nbytes)


# ---- ADC, PWM -----------------------------------------------------------------------

def fake_i2c_device(bus_id, addr, device):
    """Put a device on an I2C bus, also one the code under test has yet to create."""
    _state["i2c_devices"].setdefault(bus_id, {})[addr] = device


def fake_adc_uv(id, uv):
    _state["adc_uv"][id] = uv


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    FULL_SCALE_UV = 3300000  # what read_u16 maps to 65535 in this fake

    def __init__(self, pin, atten=None):
        self.pin_id = pin.id if isinstance(pin, Pin) else pin
        self.fake_atten = atten

    def atten(self, value):
        self.fake_atten = value

    def read_uv(self):
        return _state["adc_uv"].get(self.pin_id, 0)

    def read_u16(self):
        return min(65535, self.read_uv() * 65535 // ADC.FULL_SCALE_UV)


class PWM:
    def __init__(self, dest, freq=None, duty_u16=None):
        self.pin_id = dest.id if isinstance(dest, Pin) else dest
        self._freq = 0
        self._duty = 0
        self.fake_history = []  # (ms, freq, duty_u16)
        _state["pwm"][self.pin_id] = self
        if freq is not None:
            self.freq(freq)
        if duty_u16 is not None:
            self.duty_u16(duty_u16)

    def freq(self, value=None):
        if value is None:
            return self._freq
        self._freq = value
        self.fake_history.append((_state["now_ms"], self._freq, self._duty))

    def duty_u16(self, value=None):
        if value is None:
            return self._duty
        self._duty = value
        self.fake_history.append((_state["now_ms"], self._freq, self._duty))

    def deinit(self):
        self._duty = 0


def fake_pwm(pin_id):
    return _state["pwm"][pin_id]


# ---- RTC, WDT -----------------------------------------------------------------------

class RTC:
    """Wall clock that ticks with the fake clock (whole seconds); memory() like ESP32."""

    def __init__(self):
        pass

    def datetime(self, value=None):
        rtc = _state["rtc"]
        if value is not None:
            rtc[0] = tuple(value)
            rtc[1] = _state["now_ms"]
            return None
        y, mo, d, wd, h, mi, s, sub = rtc[0]
        elapsed_s = (_state["now_ms"] - rtc[1]) // 1000
        return _add_seconds((y, mo, d, h, mi, s), elapsed_s)

    def memory(self, data=None):
        if data is None:
            return _state["rtc"][2]
        _state["rtc"][2] = bytes(data)


def fake_rtc_power_loss():
    """The RTC domain lost power: back to 2000-01-01 00:00:00, memory cleared."""
    _state["rtc"] = [(2000, 1, 1, 5, 0, 0, 0, 0), _state["now_ms"], b""]


def _add_seconds(fields, seconds):
    y, mo, d, h, mi, s = fields
    total = h * 3600 + mi * 60 + s + seconds
    days, rest = divmod(total, 86400)
    while days > 0:
        d += 1
        days -= 1
        if d > _month_days(y, mo):
            d = 1
            mo += 1
            if mo > 12:
                mo = 1
                y += 1
    weekday = (_day_number(y, mo, d) + 5) % 7  # 2000-01-01 was a Saturday (5)
    return (y, mo, d, weekday, rest // 3600, rest // 60 % 60, rest % 60, 0)


def _month_days(y, mo):
    if mo == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if mo in (4, 6, 9, 11) else 31


def _day_number(y, mo, d):
    n = 0
    for yy in range(2000, y):
        n += 366 if (yy % 4 == 0 and (yy % 100 != 0 or yy % 400 == 0)) else 365
    for m in range(1, mo):
        n += _month_days(y, m)
    return n + d - 1


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.fake_feeds = 0
        _state["wdt"] = self

    def feed(self):
        self.fake_feeds += 1


def fake_wdt():
    return _state["wdt"]


def reset():
    raise SystemExit("machine.reset() called")


def soft_reset():
    raise SystemExit("machine.soft_reset() called")


def idle():
    pass


fake_reset()
