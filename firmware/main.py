"""Firmware entry point (wiring only): read meter.json, build the board it names, start
the application's tasks (the first boot moves the decoder key out of meter.json into the
board's key partition: ``app_keys``). Runs unchanged on the ESP32 and on the simulated
board.

A configuration the meter cannot run (bad JSON, a bad value, an unknown board or pin
setting) is refused, not crashed on: ``config error: ...`` on the console and "Config
error" with the offending field on the display when the board could be built; then
``main`` returns and the meter stays as it is until it is provisioned again. A meter
that has booted (its key imported, its records loaded) says ``meter running`` on the
console, which provisioning waits for (``host/provisioning/console.py``)."""
import sys

from meter.errors import ConfigError

CONFIG = "meter.json"
RUNNING = "meter running"


def build_board(raw):
    """The board meter.json names (the ESP32 when it names none)."""
    section = (raw.get("board") if isinstance(raw, dict) else None) or {}
    name = section.get("name", "esp32") if isinstance(section, dict) else None
    if not isinstance(name, str):
        raise ConfigError("board: must be an object with a name")
    try:
        module = __import__("boards." + name + ".board", None, None, ("build_board",))
    except ImportError:
        raise ConfigError("board.name: this firmware has no board %r" % name)
    try:
        return module.build_board(section)
    except ValueError as exc:           # "board.<field>: ..." from the board's checks
        raise ConfigError(str(exc))


def refuse(board, exc):
    message = str(exc)
    print("config error: " + message)
    if board is not None:
        board.display.show("Config error", message.split(":")[0])


def main():
    import asyncio
    import app
    import app_config
    import app_tasks
    slots = app_tasks.slot_tasks()      # code first, data after (as load_cipher)
    board = None
    try:
        raw = app_config.load(CONFIG)
        app.load_cipher(raw)            # code first, data after: less heap fragmentation
        board = build_board(raw)
        meter_app = app.App(board, raw, CONFIG)
    except ConfigError as exc:
        refuse(board, exc)
        return
    del raw, app_config
    print(RUNNING)
    for name in ("app_config", "app_keys", "iec62056.settings", "online.settings"):  # boot only
        sys.modules.pop(name, None)
        package, _, leaf = name.rpartition(".")
        if hasattr(sys.modules.get(package), leaf):
            delattr(sys.modules[package], leaf)
    asyncio.run(app_tasks.run(meter_app, slots))


main()
