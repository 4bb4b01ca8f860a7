"""Pin map and driver settings of the Prepay ESP32 board (ESP32-WROOM-32, 4 MB flash).

Two variants share one PCB layout: ``electricity`` (latching relay + CSE7766 metering
chip) and ``water`` (motorised valve with end switches + pulse input from the meter's
reed switch). The meter configuration picks a variant and may override any entry
(``"board": {"name": "esp32", "variant": "water", "pins": {"buzzer": 2}}``).

Pin choices avoid the flash pins (6-11) and UART0 (1, 3, the REPL). 34-39 are input
only with no internal pull-ups: their switches need external pull-up resistors.
Strapping pins are used only where their boot level is harmless: 0 (BOOT button,
pulled up), 2 (buzzer, low at boot), 5 (magnet sensor, pulled up, as 5 wants at boot),
12 (relay reset coil / valve close, external pull-down, as 12 wants at boot: 3.3 V
flash), 15 (alarm LED). Hardware timers: the ESP32 has four (0-3).
"""

COMMON = {
    "i2c_id": 0, "i2c_sda": 21, "i2c_scl": 22, "i2c_freq": 400000,
    "display_width": 128, "display_height": 32, "display_address": 0x3C,
    "rtc": "internal",      # or "ds3231" on the same I2C bus (keeps time through cuts)
    "keypad_rows": (13, 14, 27, 26), "keypad_cols": (25, 23, 19, 18),
    "keypad_debounce_ms": 30,
    "ir_uart_id": 1, "ir_tx": 32, "ir_rx": 33,
    "buzzer": 2, "buzzer_timer": 2,
    "led_alarm": 15, "led_supply": None,
    "button": 0,
    "tamper_cover": 34, "tamper_magnet": 5, "tamper_tilt": None,
    "power_fail": 36,
    "battery_adc": 35, "battery_divider": (2, 1), "battery_empty_mv": 3000,
    "battery_full_mv": 3600,
    "supply_timer": 1,
    "data_dir": "/data",
    "key_partition": "prepay_keys",     # meter.keystore's partition (partitions.csv)
}

VARIANTS = {
    "electricity": {
        "supply": "relay",
        "relay_set": 4, "relay_reset": 12, "relay_pulse_ms": 100,
        "nominal_voltage_mv": 230000,
        "metering": "cse7766", "meter_uart_id": 2, "meter_rx": 16, "meter_tx": 17,
        "voltage_scale": 1000, "current_scale": 1000, "power_scale": 1000,
        "pulse_input": None,
    },
    "water": {
        "supply": "valve",
        "valve_open": 4, "valve_close": 12, "valve_timeout_ms": 15000,
        "valve_opened_switch": 16, "valve_closed_switch": 17,
        "metering": None,
        "pulse_input": 39, "pulse_timer": 0, "pulse_debounce_ms": 20,
        "tamper_tilt": 15, "led_alarm": None,
    },
}

DEFAULT_VARIANT = "electricity"
FIXED_BY_VARIANT = ("supply", "metering", "pulse_input")   # pick the variant instead
CHOICES = {"rtc": ("internal", "ds3231")}


def has_internal_pull(pin):
    """GPIO 34-39 are input only, without internal pull resistors."""
    return pin < 34


def pin_map(variant=DEFAULT_VARIANT, overrides=None):
    """The settings of one variant with the configuration's overrides applied."""
    if variant not in VARIANTS:
        raise ValueError("board.variant: unknown esp32 board variant %r (known: %s)"
                         % (variant, ", ".join(sorted(VARIANTS))))
    settings = dict(COMMON)
    settings.update(VARIANTS[variant])
    if overrides:
        for key in overrides:
            if key not in settings:
                raise ValueError("board.pins.%s: unknown esp32 pin setting" % key)
            if key in FIXED_BY_VARIANT:
                raise ValueError("board.pins.%s: set by the variant (%s has %r)"
                                 % (key, variant, settings[key]))
        settings.update(overrides)
    for key in CHOICES:
        if settings[key] not in CHOICES[key]:
            raise ValueError("board.pins.%s: one of %s, not %r"
                             % (key, ", ".join(CHOICES[key]), settings[key]))
    return settings
