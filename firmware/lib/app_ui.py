"""The customer's side of the application: keypad actions in, meter calls and display
messages out. No board, no asyncio: ``Ui.key(now, k)`` and ``Ui.tick(now)`` are called by
the application's keypad and display tasks and return nothing; what the customer sees
is in ``Ui.display`` (a ``meter.display.Display``) and the buzzer commands in
``Ui.buzzer_cmd`` (taken by the caller).
"""
from const import const
from meter import messages
from meter.display import AlarmSounder, Display
from meter.keypad import Keypad

_MICRO = const(1000000)


class Ui:
    def __init__(self, meter, acceptor, display_cfg):
        self.meter = meter
        self.acceptor = acceptor
        self.unit = messages.UNIT_OF_UTILITY.get(meter.cfg["utility"], "kWh")
        self.currency = meter.cfg["credit_mode"] == "currency"
        self.symbol = display_cfg["currency"]
        self.decimals = display_cfg["decimals"]
        self.keypad = Keypad()
        self.display = Display()
        self.sounder = AlarmSounder()
        self.meter_test = None       # meter.testface.MeterTest, from the first test token
        self.buzzer_cmd = None       # ("on", seconds) / ("off", 0) for the board, or None

    # ----------------------------------------------------------------- formats
    def credit_text(self, micro):
        if self.currency:
            return messages.money_micro(micro, "", self.decimals)
        return messages.units_micro(micro, self.unit, 1)

    def number(self, micro):
        """Credit micro as a plain decimal (status output): 2 decimals of currency (or
        the display's), 3 of units."""
        return messages.fixed(micro, _MICRO, self.decimals if self.currency else 3)

    def credit_unit(self):
        return self.symbol if self.currency else self.unit

    def token_amount_micro(self, outcome):
        """Credit micro a credit token carried (None for other tokens)."""
        if outcome.token_class != 0 or outcome.amount is None:
            return None
        return outcome.amount * (10 if outcome.subclass >= 4 else 100000)

    # ----------------------------------------------------------------- input
    def key(self, now, k):
        action = self.keypad.key(now, k)
        if self.meter_test is not None:
            self.meter_test.stop()
        if self.keypad.take_silence():
            self._buzzer(self.sounder.silence(now))
        self.display.set_entry(self.keypad.entry_lines())
        if action is not None:
            self.act(now, action)

    def act(self, now, action):
        kind = action[0]
        show = self.display.show
        if kind == "token":
            self.token(now, action[1])
        elif kind == "short":
            self.short(now, action[1])
        elif kind == "history":
            show(now, [self._history_screen(action[1])])
        elif kind == "error":
            show(now, messages.entry_error_message(action[1], action[2]))
        elif kind == "timeout":
            show(now, messages.entry_error_message("timeout"))

    def token(self, now, digits):
        outcome = self.acceptor.enter(now, digits)
        amount = self.token_amount_micro(outcome)
        amount_text = self.credit_text(amount) if amount is not None and outcome.accepted else None
        credit = self.credit_text(outcome.credit_micro) if outcome.accepted else None
        if outcome.token_class == 1 and outcome.accepted:
            supply_on = self.meter.state()[0] in ("on", "limited")
            self.test_face().start(now, outcome.actions, supply_on)
            return outcome
        self.display.show(now, messages.token_message(
            outcome.result, amount_text, credit, outcome.failures, outcome.lockout_s))
        return outcome

    def test_face(self):
        """The test token runner, made at the first test token (most meters never see one)."""
        if self.meter_test is None:
            from meter.testface import MeterTest
            self.meter_test = MeterTest(self.display, self.credit_text)
        return self.meter_test

    def short(self, now, code):
        m = self.meter
        t = m.totals()
        lv = messages.label_value
        screens = None
        if code == "01":
            screens = [(lv("Credit", self.credit_text(m.balance_micro())),
                        lv("Days left", str(m.days_remaining())))]
        elif code == "02":
            screens = [(lv("Today", messages.units_milli(t["today_milli"], self.unit, 1)), "")]
        elif code == "03":
            screens = [(lv("Total", messages.units_milli(t["import_milli"], self.unit, 1)), "")]
        elif code == "04":
            screens = [(lv("Now", self.power_text(t["power"])), "")]
        elif code == "05":
            screens = [(lv("Rate", str(m.rate.index)),
                        lv("Price", self.credit_text(m.rate.price)))]
        elif code == "06":
            screens = [(lv("Debt", self.credit_text(t["debt_micro"])),
                        lv("Emerg.", self.credit_text(t["emergency_owed_micro"])))]
        elif code == "07":
            screens = [self._history_screen(0)]
        elif code == "08":
            screens = [self._history_screen(0)]
        elif code == "09":
            result = m.take_emergency_credit(now)
            amount = m.cfg["credit"]["emergency"]["amount_micro"]
            self.display.show(now, messages.emergency_message(result, self.credit_text(amount)))
            return
        elif code == "10":
            m.press(now)
            return
        elif code == "88":
            self.display.test(now)
            return
        self.display.show(now, [(a, b, messages.AMOUNT_S) for a, b in screens])

    def power_text(self, power):
        return ("%dL/h" % power) if self.unit == "m3" else ("%dW" % power)

    def _history_screen(self, n):
        history = self.acceptor.history()
        if not history:
            return ("No tokens yet", "", messages.AMOUNT_S)
        entry = history[n % len(history)]
        _, result, token_class, subclass, amount = entry
        line2 = ""
        if token_class == 0 and amount is not None and result == "Accept":
            line2 = self.credit_text(amount * (10 if subclass >= 4 else 100000))
        return ("%d %s" % (n % len(history) + 1, result), line2, messages.AMOUNT_S)

    # ----------------------------------------------------------------- time
    def tick(self, now, lockout_s):
        """Timeouts, alarm sounder, the default screen and indicators."""
        action = self.keypad.tick(now)
        if action is not None:
            self.display.set_entry(None)
            self.act(now, action)
        m = self.meter
        state, reason = m.state()
        self.display.set_status(supply=state, reason=reason, credit_state=m.credit_state,
                                tamper=bool(m.sup["tampers"]), lockout=lockout_s > 0,
                                alarm=m.alarm())
        power = m.reg["power"]
        self.display.set_default(
            messages.label_value("Credit", self.credit_text(m.balance_micro())),
            messages.label_value("Power" if self.unit != "m3" else "Flow",
                                 self.power_text(power)))
        self._buzzer(self.sounder.update(now, m.credit_state))

    def _buzzer(self, cmd):
        if cmd is not None:
            self.buzzer_cmd = cmd
