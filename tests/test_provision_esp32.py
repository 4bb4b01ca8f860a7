"""The ESP32 half of ``prepay provision meter`` that runs without a chip: esptool's
command line for ``--firmware-image`` (parsed by the real esptool), and the one line a
technician reads when no chip answers on the port (a pty with nothing behind it). What
needs a chip (the write, its verify, the reset into MicroPython, the install over USB
serial) is listed as untested in tests/hil/README.md."""
import os
import subprocess
import sys

import pytest

import fake_micropython_image as fake
from host.provisioning.meter import ESP32_APP_OFFSET, flash_command
from tests.provisioning_station import PAN, model_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def silent_port():
    """A serial port nothing answers on: a pty whose other end stays open and mute."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(slave)
    os.close(master)


@pytest.mark.parametrize("erase", [False, True])
def test_esptool_takes_the_flashing_command_and_says_no_chip_answers(tmp_path, silent_port, erase):
    image = str(tmp_path / "firmware.bin")
    fake.write(image)
    command = flash_command(silent_port, image, erase)
    assert command[:2] == [sys.executable, "-m"] and command[-2:] == [ESP32_APP_OFFSET, image]
    assert ("--erase-all" in command) == erase and command[command.index("--chip") + 1] == "auto"
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "Failed to connect to Espressif device: No serial data received" in done.stderr  # not a usage error


def prepay(*args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREPAY_")}
    return subprocess.run([sys.executable, "-m", "host.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=dict(env, PYTHONPATH=ROOT))


def test_no_chip_on_the_port_is_one_line_at_the_firmware_step(tmp_path, silent_port):
    image = str(tmp_path / "firmware.bin")
    fake.write(image)
    config = model_config(tmp_path)
    done = prepay("provision", "meter", "--board", "esp32", "--port", silent_port, "--firmware-image", image,
                  "--erase", "--config", str(config), "--meter", PAN, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("prepay provision: error: step firmware: esptool: Failed to connect to Espressif "
                           "device: No serial data received.\n")
    missing = prepay("provision", "meter", "--board", "esp32", "--port", silent_port, "--firmware-image",
                     str(tmp_path / "nothing.bin"), "--config", str(config), "--meter", PAN, cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == "prepay provision: error: step firmware: no firmware image %s\n" % (
        tmp_path / "nothing.bin")
