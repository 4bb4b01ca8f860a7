"""The optical (IR) port's UART, set up for IEC 62056-21: 7 data bits, even parity,
1 stop bit, starting at 300 Bd; mode C then switches the baud rate after the
acknowledgement (docs/iec62056-21.md section 1). In MicroPython ``parity=0`` is even.
Reads never block (timeout 0), so the protocol task can poll it from asyncio.
"""
from machine import UART

START_BAUD = 300
BITS = 7
PARITY_EVEN = 0
STOP = 1


class IrPort:
    def __init__(self, uart_id, tx, rx, rxbuf=256):
        self.baud = START_BAUD
        self._uart = UART(uart_id, baudrate=START_BAUD, bits=BITS, parity=PARITY_EVEN,
                          stop=STOP, tx=tx, rx=rx, timeout=0, rxbuf=rxbuf)

    def set_baud(self, baud):
        self._uart.init(baudrate=baud, bits=BITS, parity=PARITY_EVEN, stop=STOP, timeout=0)
        self.baud = baud

    def any(self):
        return self._uart.any()

    def read(self, n=None):
        """Up to n bytes that have arrived (b'' when none)."""
        data = self._uart.read(n) if n is not None else self._uart.read()
        return data or b""

    def write(self, data):
        return self._uart.write(data)
