"""The simulated meter on the bench: with a console (``boards/sim/console.py``) there is
no script to drive it, so virtual time follows the wall clock, the optical port is
answered as bytes arrive (``link.Driver.serve_real``), and a Ctrl-C on the console stops
``main.py`` into the REPL, as on a board.

The RTC is battery-backed: when the firmware sets it, its time and the host's are
kept in ``PREPAY_SIM_RTC_FILE`` (in the state directory), so the next power-on or soft
reset starts from it (``host/sim/console.py``)."""
import select
import sys
import time

CHECK_MS = 100          # the console is looked at this often
RTC_DRIFT_S = 2         # an offset change larger than this was a clock set


def _offset(board):
    return board.rtc.now_s() - int(time.time())


def _keep_rtc(path, board):
    """'RTC-seconds host-seconds': the launcher adds the host's time since."""
    if path:
        with open(path, "w") as f:
            f.write("%d %d\n" % (board.rtc.now_s(), int(time.time())))


async def run(board, app, rtc_file=None):
    from boards.sim.link import Driver
    driver = Driver(board, app)
    await driver.boot()
    console = select.poll()
    console.register(sys.stdin, select.POLLIN)
    kept = _offset(board)
    while True:
        await driver.serve_real(CHECK_MS)
        while console.poll(0):
            if sys.stdin.buffer.read(1) == b"\x03":
                raise KeyboardInterrupt
        now = _offset(board)
        if abs(now - kept) > RTC_DRIFT_S:
            kept = now
            _keep_rtc(rtc_file, board)
