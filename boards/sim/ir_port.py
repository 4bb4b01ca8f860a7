"""The simulated meter's optical port: a pseudo-terminal the launcher made
(``PREPAY_SIM_IR`` is its slave's path; ``host/sim/ir.py`` bridges it to the device
path readers open). The board interface of boards/README.md: 7E1 at 300 Bd to start
(a pty keeps no baud or parity, so ``set_baud`` only records it), reads never block.
``wait(ms)`` blocks until a byte arrives or ``ms`` pass: the link's real-time ``serve``
sleeps in it while every task sleeps."""
import select
import termios

from const import const

_START_BAUD = const(300)
_CHUNK = const(64)


class PtyPort:
    def __init__(self, path):
        self.baud = _START_BAUD
        self._f = open(path, "r+b")
        termios.setraw(self._f.fileno())
        self._poll = select.poll()
        self._poll.register(self._f, select.POLLIN)

    def set_baud(self, baud):
        self.baud = baud

    def any(self):
        return 1 if self._poll.poll(0) else 0

    def wait(self, ms):
        return bool(self._poll.poll(ms))

    def read(self, n=None):
        """What has arrived (b'' when nothing): a byte at a time while the pty has more,
        since a file read waits for all it asks."""
        limit = _CHUNK if n is None else n
        out = b""
        while len(out) < limit and self._poll.poll(0):
            b = self._f.read(1)
            if not b:
                break
            out += b
        return out

    def write(self, data):
        return self._f.write(data)


class NoPort:
    """No optical head attached (run without the launcher's pty)."""
    baud = _START_BAUD

    def set_baud(self, baud):
        self.baud = baud

    def read(self, n=None):
        return b""

    def any(self):
        return 0

    def wait(self, ms):
        return False

    def write(self, data):
        return len(data)


def ir_port(path):
    return PtyPort(path) if path else NoPort()
