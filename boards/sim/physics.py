"""What flows through the simulated meter: a load (power in mW, or flow in mL/h) that
the script sets, integrated over virtual time while the relay or valve is closed.

Integer arithmetic only: the integral is kept in (unit x ms) and handed out in whole
mWh or mL, the remainder carried, so energy is exact whatever the sampling interval.
"""

MS_PER_HOUR = 3600000


class Load:
    def __init__(self, clock):
        self.clock = clock
        self.rate = 0            # mW (electricity, heat) or mL/h (water, gas)
        self.flowing = True      # relay closed / valve open
        self.t = clock.ms
        self.acc = 0             # rate x ms not yet handed out
        self.total = 0           # whole units handed out since power-on

    def _accrue(self):
        now = self.clock.ms
        if self.flowing and now > self.t:
            self.acc += self.rate * (now - self.t)
        self.t = now

    def set_rate(self, rate):
        self._accrue()
        self.rate = rate

    def set_flowing(self, flowing):
        self._accrue()
        self.flowing = flowing

    def rate_now(self):
        return self.rate if self.flowing else 0

    def take(self):
        """Whole mWh (or mL) since the previous call."""
        self._accrue()
        q = self.acc // MS_PER_HOUR
        self.acc -= q * MS_PER_HOUR
        self.total += q
        return q


class MeteringChip:
    """A metering chip's view of the load (like a CSE7766): power and energy."""

    def __init__(self, load, voltage_mv=230000):
        self.load = load
        self.voltage_mv = voltage_mv
        self.frames = 0
        self.errors = 0
        self.last_error = None

    def poll(self):
        self.frames += 1
        return 1

    @property
    def power_mw(self):
        return self.load.rate_now()

    @property
    def current_ma(self):
        return self.load.rate_now() // (self.voltage_mv // 1000)

    def take_energy_mwh(self):
        return self.load.take()


class PulseInput:
    """A reed-switch or S0 pulse output: one pulse per ``ml_per_pulse`` of the load
    (mL for water and gas; for an energy load, mWh per pulse)."""

    def __init__(self, load, ml_per_pulse):
        self.load = load
        self.per_pulse = ml_per_pulse
        self.rest = 0
        self.total = 0

    def take_count(self):
        self.rest += self.load.take()
        n = self.rest // self.per_pulse
        self.rest -= n * self.per_pulse
        self.total += n
        return n
