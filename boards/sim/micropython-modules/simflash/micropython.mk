# MicroPython user C module: the sim board's mapped flash (simflash.c)
SRC_USERMOD_C += $(USERMOD_DIR)/simflash.c
