"""The application's cooperative tasks (MicroPython ``asyncio``), each a loop around one
``App`` step, each supervised: a task that raises is logged as a ``fault`` event and
restarted after a pause. A hang that never yields is the watchdog's: the board resets
and the meter boots from its store.

Sleeping goes through the board when it offers ``sleep_ms(ms, lazy, wake)`` (the
simulator's virtual clock); otherwise ``asyncio.sleep_ms``. ``lazy`` marks a polling
period (keypad, display, watchdog) that a simulator may stretch while nothing the task
watches changes; ``wake`` names the input that may end the sleep early ("metering":
the load changed).

Slots: ``SLOTS`` names optional modules (``app_ir`` for the IEC 62056-21 optical port,
``app_mqtt`` for telemetry); when such a module is present, its ``task(app, sleep)``
coroutine runs supervised beside the others.
"""
import asyncio
import gc

from const import const

_WATCHDOG_MS = const(8000)
_RESTART_PAUSE_MS = const(1000)
_KEYPAD_MS = const(20)
_DISPLAY_MS = const(250)
_SUPPLY_RETRY_MS = const(100)
_SUPPLY_IDLE_MS = const(1000)
_HOUSEKEEPING_MS = const(60000)
SLOTS = ("app_ir", "app_mqtt")


def sleeper(board):
    """sleep(ms, lazy=False, wake=None) -> awaitable, from the board or asyncio."""
    board_sleep = getattr(board, "sleep_ms", None)
    if board_sleep is not None:
        return board_sleep

    def sleep(ms, lazy=False, wake=None):
        return asyncio.sleep_ms(ms)
    return sleep


async def supervised(app, name, body, sleep):
    while True:
        try:
            await body(app, sleep)
        except Exception as exc:  # noqa: BLE001 - any crash is logged and survived
            app.crashed(name, exc)
            await sleep(_RESTART_PAUSE_MS)


async def metering(app, sleep):
    while True:
        ms = app.sample(app.now())
        await sleep(ms, False, "metering")


async def inputs(app, sleep):
    while True:
        app.scan_inputs(app.now())
        await sleep(_KEYPAD_MS, True, "input")


async def display(app, sleep):
    while True:
        app.refresh(app.now())
        await sleep(_DISPLAY_MS, True)


async def supply(app, sleep):
    while True:
        moving = app.drive_supply()
        await sleep(_SUPPLY_RETRY_MS if moving else _SUPPLY_IDLE_MS, not moving)


async def housekeeping(app, sleep):
    while True:
        app.housekeeping(app.now())
        await sleep(_HOUSEKEEPING_MS, True)


async def watchdog(app, sleep):
    dog = app.board.watchdog
    dog.start(_WATCHDOG_MS)
    while True:
        dog.feed()
        await sleep(_WATCHDOG_MS // 4, True)


TASKS = (("metering", metering), ("inputs", inputs), ("display", display),
         ("supply", supply), ("housekeeping", housekeeping), ("watchdog", watchdog))


def slot_tasks():
    """(name, body) of the optional modules present on this device."""
    found = []
    for name in SLOTS:
        try:
            module = __import__(name)
        except ImportError:
            continue
        found.append((name, module.task))
    return found


_GC_THRESHOLD = const(16384)


async def run(app, slots=None):
    """Run the tasks and ``slots`` (``slot_tasks()``: main.py imports them with the rest
    of the code, before the records' data lands in the heap)."""
    # collect after every 16 KB allocated rather than when the heap is full: the heap
    # stays in one piece (a long run otherwise fails on fragmentation, not on size)
    gc.collect()
    gc.threshold(_GC_THRESHOLD)
    sleep = sleeper(app.board)
    for name, body in TASKS + tuple(slot_tasks() if slots is None else slots):
        asyncio.create_task(supervised(app, name, body, sleep))
    background = getattr(app.board, "background", None)
    if background is not None:
        await background(app)       # the simulator's clock and script link
    else:
        while True:
            await asyncio.sleep_ms(60000)
