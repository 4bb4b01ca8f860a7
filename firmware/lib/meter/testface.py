"""A test token (InitiateMeterTest/Display) on the meter's face: its steps
(``meter.testtoken.actions``) one after another on the display model, and the load
switch test.

The display test is the model's own (every pixel and indicator, then the characters)
and comes first. The load switch test opens the relay or valve when its screen comes
and closes it again ``SWITCH_TEST_S`` after it has opened (``supply_target``, which the
application's supply drive asks). Test tokens are public and not subject to lockout,
so a supply the meter holds off (no credit, overload, tamper, leak...) stays off: the
screen says so. A key press drops a load switch test not yet started.
"""
from const import const
from meter import messages
from meter.display import TEST_S

SWITCH_TEST_S = const(5)        # the relay or valve stays open this long once it has opened
SWITCH_GIVE_UP_S = const(60)    # a switch that has not opened by then is left to the core
_READ_OUT_S = const(4)


class MeterTest:
    """The steps of the last test token on the display, and the load switch test."""

    def __init__(self, display, credit_text):
        self.display = display
        self.credit_text = credit_text   # credit micro -> text in this meter's unit
        self.switch_at = None            # when the load switch test is due
        self.switch = None               # the test running: [started, opened or None]

    def start(self, now, steps, supply_on):
        """Show the steps one after another; ``supply_on``: the load switch may be
        opened for its test. The display test comes first, at once (its pattern takes
        the whole face); without it an "Accept" screen does."""
        names = [step[1] for step in steps if step[0] == "test"]
        if "display" in names:
            self.display.test(now)
            items = [("Display test", "", TEST_S)]   # under the pattern, for the timing
        else:
            items = [("Accept", "Test token", messages.ACCEPT_S)]
        t = now + items[0][2]
        self.switch_at = None
        for step in steps:
            if step[0] == "show":
                line1, line2 = self._read_out(step[1], step[2], step[3])
                seconds = _READ_OUT_S
            elif step[1] == "load_switch":
                line1, line2, seconds = "Load switch", "test", SWITCH_TEST_S
                if supply_on:
                    self.switch_at = t
                else:
                    line2 = "supply held off"
            elif step[1] == "token_reader":
                line1, line2, seconds = "Token reader", "OK", _READ_OUT_S
            else:
                continue                 # the display test, already running
            items.append((line1, line2, seconds))
            t += seconds
        self.display.show(now, items)

    def _read_out(self, label, value, unit):
        if unit.startswith("milli"):
            text = messages.units_milli(value, unit[5:], 1)
        elif unit == "credit":
            text = self.credit_text(value)
        elif unit == "permille":
            text = messages.fixed(value, 1000, 3)
        else:
            text = "%s%s" % (value, unit)
        if len(label) + 1 + len(text) <= messages.WIDTH:
            return messages.label_value(label, text), ""
        return label, text

    def stop(self):
        """A key was pressed: a load switch test not yet started is dropped."""
        self.switch_at = None

    @property
    def busy(self):
        """A load switch test is due or running (the supply drive keeps polling)."""
        return self.switch_at is not None or self.switch is not None

    def supply_target(self, now, target, position):
        """Where the relay or valve should be: the core's ``target`` ("on"/"off"), or
        "off" while a load switch test holds it open. ``position`` is the switch's own
        ("on", "off", "moving")."""
        if self.switch_at is not None and now >= self.switch_at:
            self.switch_at = None
            self.switch = [now, None]
        test = self.switch
        if test is None:
            return target
        if target != "on" or now - test[0] >= SWITCH_GIVE_UP_S \
                or (test[1] is not None and now - test[1] >= SWITCH_TEST_S):
            self.switch = None           # over (or the core wants it off anyway)
            return target
        if test[1] is None and position == "off":
            test[1] = now
        return "off"
