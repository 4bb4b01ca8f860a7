"""The simulated meter's optical port on the host: two pseudo-terminals joined by a
thread. The firmware opens one slave (``PREPAY_SIM_IR``); readers open the other,
``path`` (and ``link``, a stable symbolic link to it when asked), like the serial
device of an optical head. The bridge outlives the firmware process, so the port's
path stays the same across ``power cut`` / ``power on``; while the meter is off its
bytes go nowhere, as light into a dead meter's window.
"""
import os
import select
import threading
import tty


class IrBridge:
    def __init__(self, link=None):
        self._meter_master, self._meter_slave = os.openpty()
        self._reader_master, self._reader_slave = os.openpty()
        for fd in (self._meter_slave, self._reader_slave):
            tty.setraw(fd)      # no echo, no CR/LF translation: bytes pass as they are
        self.meter_path = os.ttyname(self._meter_slave)
        self.meter_fd = self._meter_slave      # the firmware's end, for a child's stdio
        self.path = os.ttyname(self._reader_slave)
        self.link = None
        if link:
            if os.path.islink(link) or os.path.exists(link):
                os.remove(link)
            os.symlink(self.path, link)
            self.link = link
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="ir-bridge", daemon=True)
        self._thread.start()

    def _run(self):
        pair = {self._meter_master: self._reader_master,
                self._reader_master: self._meter_master}
        while True:
            ready, _, _ = select.select(list(pair) + [self._stop_r], [], [])
            if self._stop_r in ready:
                return
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                    os.write(pair[fd], data)
                except OSError:     # the other side is closed for a moment
                    pass

    def close(self):
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=2)
        for fd in (self._meter_master, self._meter_slave, self._reader_master,
                   self._reader_slave, self._stop_r, self._stop_w):
            os.close(fd)
        if self.link and os.path.islink(self.link):
            os.remove(self.link)
