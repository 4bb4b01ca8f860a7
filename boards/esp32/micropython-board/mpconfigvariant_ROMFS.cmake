# The alternative to freezing: the port's own frozen modules only, and Prepay's compiled
# modules in a ROMFS partition (the bundle's lib/ as an image, written with
# `mpremote romfs deploy`), mapped from flash and run in place. Updates the firmware code
# without rebuilding MicroPython, at the cost of the names and function records (about
# 1.5x the frozen heap on the Unix port) that a ROMFS import still builds in RAM.
set(SDKCONFIG_DEFAULTS
    ${SDKCONFIG_DEFAULTS}
    ${MICROPY_BOARD_DIR}/sdkconfig.romfs
)
prepay_partitions(${MICROPY_BOARD_DIR}/partitions-prepay-romfs.csv)   # romfs + prepay_keys

list(APPEND MICROPY_DEF_BOARD
    MICROPY_HW_BOARD_NAME="Prepay meter (ESP32, ROMFS)"
    MICROPY_VFS_ROM=1
)

set(MICROPY_FROZEN_MANIFEST ${MICROPY_PORT_DIR}/boards/manifest.py)
