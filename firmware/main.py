"""Firmware entry point (wiring only): read meter.json, build the board it names, start
the application's tasks. Runs unchanged on the ESP32 and on the simulated board."""
import sys

CONFIG = "meter.json"


def main():
    import asyncio
    import app
    import app_config
    import app_tasks
    raw = app_config.load(CONFIG)
    app.load_cipher(raw)            # code first, data after: less heap fragmentation
    board_cfg = raw.get("board") or {}
    name = board_cfg.get("name", "esp32")
    board = __import__("boards." + name + ".board", None, None, ("build_board",)).build_board(board_cfg)
    meter_app = app.App(board, raw)
    del raw, app_config
    sys.modules.pop("app_config", None)     # checked once at boot: about 2 KB back
    asyncio.run(app_tasks.run(meter_app))


main()
