# Frozen manifest of the Prepay meter's ESP32 firmware image, read by MicroPython's
# build (tools/makemanifest.py runs it as Python, with this folder as the working
# directory). The list is not written here: it is the ESP32 bundle's own list
# (host/firmware/manifest.py, from host/provisioning/bundle.py), so what
# `prepay provision bundle --board esp32` ships is exactly what this image freezes.
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join("..", "..", "..")))
from host.firmware.manifest import frozen_modules  # noqa: E402

include("$(PORT_DIR)/boards/manifest.py")  # noqa: F821 - the port's _boot.py, asyncio, drivers
for folder, names in frozen_modules("esp32"):
    freeze(folder, names)  # noqa: F821 - manifest API
