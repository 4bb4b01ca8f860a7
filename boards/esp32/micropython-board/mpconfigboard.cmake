# Prepay meter: MicroPython for an ESP32 (4 MiB flash) with the meter firmware frozen in.
# Out-of-tree board: make -C ports/esp32 BOARD=PREPAY BOARD_DIR=<this folder> (README.md).
set(IDF_TARGET esp32)

# The generic ESP32 settings without Bluetooth: the meter has no BLE, and leaving the
# controller out gives its RAM back to the heap.
set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    ${SDKCONFIG_IDF_VERSION_SPECIFIC}
)

# Prepay's partition table: the meter's secrets need their own partition (prepay_keys,
# meter.keystore). ESP-IDF wants the table's path in sdkconfig; an out-of-tree board's is
# absolute, so the fragment is written at configure time. prepay_partitions(<csv>) is
# called again by a variant with its own table; the last call wins.
function(prepay_partitions csv)
    set(fragment ${CMAKE_BINARY_DIR}/sdkconfig.prepay-partitions)
    file(WRITE ${fragment} "CONFIG_PARTITION_TABLE_CUSTOM=y\n"
         "CONFIG_PARTITION_TABLE_CUSTOM_FILENAME=\"${csv}\"\n")
    set(SDKCONFIG_DEFAULTS ${SDKCONFIG_DEFAULTS} ${fragment} PARENT_SCOPE)
endfunction()
prepay_partitions(${MICROPY_BOARD_DIR}/partitions-prepay.csv)

set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
