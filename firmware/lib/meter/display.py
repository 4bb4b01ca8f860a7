"""Display model: what the meter's two 16-character lines and indicators show now,
and when its buzzer sounds. Plain data out; the board draws it (``board.display.show``)
and the simulator prints it (``as_text``). Times are integer seconds.

Priority of what is on the lines, highest first:
1. the display test (#88#) while it runs;
2. the entry being typed (``set_entry``; typing drops any queued messages);
3. timed messages (``show``): token results, read-outs, each for its seconds, in order;
4. the default screen (``set_default``, e.g. the credit), alternating every
   ``_ALTERNATE_S`` with the screen explaining a supply or credit state that needs the
   customer: why the supply is held off (overload, tamper, low battery, leak...),
   READY, friendly credit, a low battery or leak alarm, low credit.

Indicators (``render``'s third item, a dict): ``supply`` ('on', 'off', 'ready',
'limited'), ``alarm`` (the core's alarm, or a credit state other than normal),
``tamper``, ``lockout``.
"""
from const import const
from meter import messages

_ALTERNATE_S = const(4)
TEST_S = const(4)
ALARM_STATES = ("low1", "low2", "exhausted", "emergency", "disconnected")
SOUNDING_STATES = ("low1", "low2", "exhausted")
_DAY_S = const(86400)


class Display:
    def __init__(self):
        self.default = (messages.fit("Credit"), messages.fit(""))
        self.queue = []            # [line1, line2, seconds, end or None]
        self.entry = None
        self.test_until = None
        self.test_s = TEST_S
        self.supply = "on"
        self.reason = None
        self.alarm = None
        self.credit_state = "normal"
        self.tamper = False
        self.lockout = False

    # ----------------------------------------------------------------- inputs
    def set_default(self, line1, line2=""):
        self.default = (messages.fit(line1), messages.fit(line2))

    def set_status(self, supply=None, reason=None, credit_state=None, tamper=None,
                   lockout=None, alarm=None):
        """The meter's state as the core reports it (arguments left None keep theirs;
        ``reason`` and ``alarm``, ``Meter.alarm()``, go with ``supply``)."""
        if supply is not None:
            if supply not in ("on", "off", "ready", "limited"):
                raise ValueError("unknown supply state %r" % (supply,))
            self.supply = supply
            self.reason = reason
            self.alarm = alarm
        if credit_state is not None:
            messages.credit_state_screen(credit_state)      # refuses unknown states
            self.credit_state = credit_state
        if tamper is not None:
            self.tamper = bool(tamper)
        if lockout is not None:
            self.lockout = bool(lockout)

    def show(self, now, items, after=False):
        """Queue messages ``(line1, line2, seconds)``; they replace what is queued,
        or with ``after=True`` follow it."""
        if not after:
            self.queue = []
        self._expire(now)
        start = self.queue[-1][3] if self.queue else now
        for line1, line2, seconds in items:
            if seconds <= 0:
                raise ValueError("a message needs a positive duration")
            start += seconds
            self.queue.append((messages.fit(line1), messages.fit(line2), seconds, start))

    def set_entry(self, lines):
        """The keypad's entry in progress (``Keypad.entry_lines()``), or None."""
        if lines is not None:
            self.queue = []
            self.entry = (messages.fit(lines[0]), messages.fit(lines[1]))
        else:
            self.entry = None

    def test(self, now, seconds=TEST_S):
        """Display test (#88#): every pixel and indicator, then the character set."""
        self.test_until = now + seconds
        self.test_s = seconds

    # ----------------------------------------------------------------- output
    def render(self, now):
        """(line1, line2, indicators): two 16-character ASCII lines and a dict."""
        ind = {"supply": self.supply,
               "alarm": self.alarm is not None or self.credit_state in ALARM_STATES,
               "tamper": self.tamper, "lockout": self.lockout}
        if self.test_until is not None:
            left = self.test_until - now
            if left > 0:
                if left * 2 > self.test_s:
                    return "#" * 16, "#" * 16, {"supply": "on", "alarm": True,
                                                  "tamper": True, "lockout": True}
                return "0123456789ABCDEF", "Display test    ", ind
            self.test_until = None
        if self.entry is not None:
            return self.entry[0], self.entry[1], ind
        self._expire(now)
        if self.queue:
            return self.queue[0][0], self.queue[0][1], ind
        notice = self.notice()
        if notice is not None and (now // _ALTERNATE_S) % 2 == 1:
            return notice[0], notice[1], ind
        return self.default[0], self.default[1], ind

    def notice(self):
        """The screen explaining the supply/credit state, or None when all is normal."""
        if self.supply in ("off", "ready") and self.reason:
            screen = messages.supply_screen(self.reason)
            if screen is not None:
                return screen
        if self.supply in ("ready", "limited"):
            return messages.credit_state_screen(self.supply)
        if self.reason == "friendly":
            return messages.credit_state_screen("friendly")
        screen = messages.alarm_screen(self.alarm) if self.alarm else None
        return screen or messages.credit_state_screen(self.credit_state)

    def _expire(self, now):
        while self.queue and self.queue[0][3] <= now:
            self.queue.pop(0)


def board_args(frame, now):
    """A rendered frame as ``board.display.show(line1, line2, **flags)`` arguments:
    the supply indicator is lit when on or limited and blinks (1 s) when READY."""
    line1, line2, ind = frame
    supply = ind["supply"]
    lit = supply in ("on", "limited") or (supply == "ready" and now % 2 == 0)
    return line1, line2, {"supply": lit, "alarm": ind["alarm"], "tamper": ind["tamper"],
                          "lockout": ind["lockout"]}


def as_text(frame):
    """The frame as three printable lines (simulator, logs, tests)."""
    line1, line2, ind = frame
    flags = ["[SUPPLY %s]" % ind["supply"].upper()]
    for name in ("alarm", "tamper", "lockout"):
        if ind[name]:
            flags.append("[%s]" % name.upper())
    return "|%s|\n|%s|\n%s" % (line1, line2, " ".join(flags))


class AlarmSounder:
    """When the buzzer sounds for the credit state.

    It sounds for ``beep_s`` on entering a sounding state (low1, low2, exhausted) and
    again every ``repeat_s`` while the state lasts, never inside the quiet hours
    (a sounding due then waits for their end), until a key press silences it; the
    next state change arms it again. Defaults are Electric Ireland's: 2 minutes, every
    30 minutes, quiet 22:00-08:00 (prepaid-features.md section 2).

    ``update(now, credit_state)`` and ``silence(now)`` return ("on", seconds) when the
    buzzer must start for that long, ("off", 0) when it must stop now, or None.
    ``now`` is local civil seconds (the core's time), so the quiet hours are local.
    """

    def __init__(self, beep_s=120, repeat_s=1800, quiet=(22 * 60, 8 * 60),
                 states=SOUNDING_STATES):
        if beep_s <= 0 or repeat_s <= beep_s:
            raise ValueError("need 0 < beep_s < repeat_s")
        self.beep_s = beep_s
        self.repeat_s = repeat_s
        self.quiet = quiet
        self.states = states
        self.state = "normal"
        self.until = None          # end of the current sounding, or None when silent
        self.due = None            # when the next sounding is due, or None
        self.silenced = False

    def in_quiet(self, now):
        if self.quiet is None:
            return False
        start, end = self.quiet
        minute = now % _DAY_S // 60
        if start > end:
            return minute >= start or minute < end
        return start <= minute < end

    def quiet_end(self, now):
        """The first end of the quiet hours after ``now``."""
        t = now - now % _DAY_S + self.quiet[1] * 60
        return t if t > now else t + _DAY_S

    def update(self, now, credit_state):
        stop = False
        if credit_state != self.state:
            self.state = credit_state
            self.silenced = False
            stop = self.until is not None
            self.until = None
            self.due = now if credit_state in self.states else None
        if self.until is not None and (now >= self.until or self.in_quiet(now)):
            self.until = None
            stop = True
        if self.until is None and self.due is not None and now >= self.due \
                and not self.silenced:
            if self.in_quiet(now):
                self.due = self.quiet_end(now)
            else:
                self.until = now + self.beep_s
                self.due = now + self.repeat_s
                return ("on", self.beep_s)
        return ("off", 0) if stop else None

    def silence(self, now):
        """A key press: quiet until the credit state changes."""
        self.silenced = True
        self.due = None
        if self.until is not None:
            self.until = None
            return ("off", 0)
        return None

    @property
    def sounding(self):
        return self.until is not None
