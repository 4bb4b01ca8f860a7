"""``prepay provision meter`` against the simulator: the time for one blank board to a
commissioned meter (the issue's goal: under 60 s), each step's share, the bytes over the
console and their rate, a re-run that finds the firmware installed, and the field image
(``bench_provision_image.py`` has its size). Everything as a technician runs it: a board
from ``prepay sim --blank``, a station on SQLite."""
import json
import os
import pathlib
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT]

from tests.console_board import BenchBoard  # noqa: E402
from tests.provisioning_station import Station, model_config  # noqa: E402


def run(station, board, config):
    done = station.provision(board, config, json_out=True)
    return json.loads(done.stdout)


def show(title, report):
    install = [s for s in report["steps"] if s["step"] == "install"][0]
    print("%s: %.1f s, %d of %d files sent, %d bytes over the console (load average %s: "
          "figures on a shared machine are noisy)"
          % (title, report["seconds"], report["files_sent"], report["files"],
             report["console_bytes"], " ".join("%.1f" % x for x in os.getloadavg())))
    if report["files_sent"]:
        print("  install %.1f s: %.1f KB/s over the console (the pty has no baud rate; an "
              "ESP32's USB serial at 115200 Bd carries ~11.5 KB/s)"
              % (install["seconds"], report["console_bytes"] / 1024 / install["seconds"]))
    print("  " + ", ".join("%s %.1f s" % (s["step"], s["seconds"]) for s in report["steps"]))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        board = BenchBoard(tmp).start()
        try:
            station = Station(tmp).setup()
            config = model_config(tmp)
            show("blank board to commissioned meter", run(station, board, config))
            show("again (firmware held, configuration and self-test again)",
                 run(station, board, config))
        finally:
            board.stop()


if __name__ == "__main__":
    main()
