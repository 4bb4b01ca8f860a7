"""The optical (IR) port's UART, set up for IEC 62056-21: 7 data bits, even parity,
1 stop bit, starting at 300 Bd; mode C then switches the baud rate after the
acknowledgement (docs/iec62056-21.md section 1). In MicroPython ``parity=0`` is even.
Reads never block (timeout 0), so the protocol task can poll it from asyncio.
"""
from machine import UART

from const import const

_START_BAUD = const(300)
_BITS = const(7)
_PARITY_EVEN = const(0)
_STOP = const(1)


class IrPort:
    def __init__(self, uart_id, tx, rx, rxbuf=256):
        self.baud = _START_BAUD
        self._uart = UART(uart_id, baudrate=_START_BAUD, bits=_BITS, parity=_PARITY_EVEN,
                          stop=_STOP, tx=tx, rx=rx, timeout=0, rxbuf=rxbuf)

    def set_baud(self, baud):
        self._uart.init(baudrate=baud, bits=_BITS, parity=_PARITY_EVEN, stop=_STOP, timeout=0)
        self.baud = baud

    def any(self):
        return self._uart.any()

    def read(self, n=None):
        """Up to n bytes that have arrived (b'' when none)."""
        data = self._uart.read(n) if n is not None else self._uart.read()
        return data or b""

    def write(self, data):
        return self._uart.write(data)
