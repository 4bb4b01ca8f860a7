# Prepay meter: MicroPython for an ESP32 (4 MiB flash) with the meter firmware frozen in.
# Out-of-tree board: make -C ports/esp32 BOARD=PREPAY BOARD_DIR=<this folder> (README.md).
set(IDF_TARGET esp32)

# The generic ESP32 settings without Bluetooth: the meter has no BLE, and leaving the
# controller out gives its RAM back to the heap.
set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    ${SDKCONFIG_IDF_VERSION_SPECIFIC}
)

set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
