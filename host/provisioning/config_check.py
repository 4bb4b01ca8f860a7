"""Check a meter configuration with the firmware's own checks before it goes into a
bundle, so that a ``meter.json`` the meter would refuse at boot ("Config error" on its
display) is refused at the technician's desk instead, naming the same field.

The checks run where they run on the meter: in MicroPython (the Unix port), on the
repository's firmware sources, as a separate process (host tools reach the firmware
only as files and processes). They cover what ``firmware/main.py`` checks at boot short
of touching hardware: the JSON, the STS, identity and display sections
(``app_config.split``), the meter core's configuration (``meter.core.validate_config``),
that the board named is the bundle's board, and for the ESP32 its variant and pin
settings (``boards.esp32.pins.pin_map``).
"""
import json
import os
import subprocess

from host.provisioning.bundle import REPO_ROOT, BundleError, micropython_command

HEAP = "4M"          # the firmware compiled from source on the host, not the meter's budget
CHECK = """
import json
import os
import sys
import app_config
from meter.core import validate_config
from meter.errors import ConfigError
board_name = os.getenv("PREPAY_CHECK_BOARD")
try:
    raw = json.loads(sys.stdin.read())
    core, _, _, _, board = app_config.split(raw)
    validate_config(core)
    name = board.get("name", "esp32")
    if name != board_name:
        raise ConfigError("board.name: %r, but the bundle is for the %r board"
                          % (name, board_name))
    if name == "esp32":
        from boards.esp32 import pins
        pins.pin_map(board.get("variant", pins.DEFAULT_VARIANT), board.get("pins"))
except ValueError as exc:
    print("config error: %s" % exc)
else:
    print("config ok")
"""


def check_config(config, path, board, root=REPO_ROOT):
    """Raise BundleError with the firmware's own words when the meter would refuse
    ``config`` (read from ``path``) on ``board``. It is checked as the JSON text the bundle
    ships, handed over on stdin: never a temporary file, since it holds the decoder key."""
    env = dict(os.environ, PREPAY_CHECK_BOARD=board,
               MICROPYPATH=os.path.join(root, "firmware", "lib") + os.pathsep + root)
    proc = subprocess.run([micropython_command(), "-X", "heapsize=" + HEAP, "-c", CHECK],
                          input=json.dumps(config), capture_output=True, text=True, env=env, cwd=root,
                          timeout=120)
    said = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not said or not said[-1].startswith("config "):
        raise BundleError("the configuration check did not run: %s"
                          % (proc.stderr.strip() or proc.stdout.strip())[-500:])
    if said[-1] != "config ok":
        raise BundleError("the meter would refuse %s: %s"
                          % (path, said[-1][len("config error: "):]))
