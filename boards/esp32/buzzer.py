"""Piezo buzzer on a PWM pin: ``beep(ms, freq_hz)`` starts a tone a Timer ends.

A 50 % duty square wave (duty_u16 32768) gives the loudest tone on a piezo disc; most
small transducers resonate near 2.7-4 kHz, hence the default.
"""
from machine import Pin, PWM, Timer

from const import const

_HALF_DUTY_U16 = const(32768)


class Buzzer:
    def __init__(self, pin, timer_id, freq_hz=2700):
        self._pwm = PWM(Pin(pin, Pin.OUT), freq=freq_hz, duty_u16=0)
        self._freq_hz = freq_hz
        self._timer = Timer(timer_id)
        self.sounding = False

    def beep(self, ms, freq_hz=None):
        self._pwm.freq(freq_hz or self._freq_hz)
        self._pwm.duty_u16(_HALF_DUTY_U16)
        self.sounding = True
        self._timer.init(mode=Timer.ONE_SHOT, period=ms, callback=self._stop)

    def off(self):
        self._timer.deinit()
        self._stop(None)

    def _stop(self, _timer):
        self._pwm.duty_u16(0)
        self.sounding = False
