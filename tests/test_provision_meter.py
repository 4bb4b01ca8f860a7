"""``prepay provision meter`` (issue 15): a blank simulated board to a commissioned meter
the clerk sells to at once, the failure paths (one line each, a re-run completes), and
the decoder key found nowhere it should not be. Everything as a user runs it: the
``prepay`` command, a board started with ``prepay sim --blank``, SQLite."""
import json
import os
import subprocess
import time

import pytest

from host.readout import jobs
from tests.console_board import BIN, BenchBoard
from tests.provisioning_station import (KEY, KEY_PARTITION, OTHER_PAN, PAN, TECHNICIAN_PW,
                                        Station, model_config)

@pytest.fixture
def board(tmp_path):
    b = BenchBoard(tmp_path).start()
    yield b
    b.stop()


def one_line_error(done, step):
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("prepay provision: error: step %s: " % step), done.stderr
    assert done.stdout == ""
    return last


def credit_cents(port):
    value = {r["obis"]: r["value"] for r in jobs.readout(port, timeout=5)}["0-0:19.0.0"]
    whole, _, frac = value.partition(".")
    return int(whole) * 100 + int(frac or 0)


def test_blank_board_to_a_sale_accepted_on_the_meter(board, tmp_path):
    station = Station(tmp_path).setup()
    config = model_config(tmp_path)
    done = station.provision(board, config)
    assert "meter %s commissioned" % PAN in done.stdout
    for step in ("install", "boot", "identity", "readout", "clock", "test-token", "relay",
                 "record"):
        assert "prepay provision: %-13s " % step in done.stderr, done.stderr
    shown = station.run("vend", "meter", "show", "--meter", PAN, "--json").stdout
    record = json.loads(shown)
    assert record["status"] == "active"         # activated by the commissioning
    assert record["commissioning"]["technician"] == "admin"
    assert record["commissioning"]["serial"] == "SIM-E-0001"
    assert {s["step"]: s["result"] for s in record["commissioning"]["self_test"]}["test-token"] == "ok"
    text = station.run("vend", "meter", "show", "--meter", PAN).stdout
    assert "commissioned " in text and "by admin" in text
    audit = station.run("vend", "audit", "show").stdout
    assert "meter_commission" in audit

    before = credit_cents(board.ir)
    sale = station.run("vend", "sell", "--meter", PAN, "--amount", "100.00", "--channel", "cash",
                       "--json", env={"PREPAY_OPERATOR": "alice",
                                      "PREPAY_OPERATOR_PASSWORD": "alice-secret-1"})
    token = json.loads(sale.stdout)["tokens"][0]["digits"]
    assert jobs.send_token(board.ir, TECHNICIAN_PW, token, timeout=5) == (True, "Accept")
    assert credit_cents(board.ir) - before >= 8600      # 100.00 less 16% VAT, at least
    board.stop()
    assert_key_nowhere(station, board, tmp_path)


def assert_key_nowhere(station, board, tmp_path):
    """Not in any output, the database, the board's log, or any file left behind; in
    flash.img only inside the key partition (the simulator does not model the ESP32's
    flash encryption, docs/meter-security.md)."""
    needles = (KEY.encode(), KEY.upper().encode(), bytes.fromhex(KEY))
    for text in station.said:
        assert KEY not in text.lower()
    for root, _, names in os.walk(tmp_path):
        for name in names:
            path = os.path.join(root, name)
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            if name == "flash.img":
                data = data[:-KEY_PARTITION]
            for needle in needles:
                assert needle not in data, path


def test_failures_say_their_step_in_one_line_and_a_rerun_completes(board, tmp_path):
    station = Station(tmp_path).setup()
    config = model_config(tmp_path)

    wrong = station.provision(board, config, check=False,
                              env={"PREPAY_KEYSTORE_PASSPHRASE": "not the passphrase"})
    assert "passphrase" in one_line_error(wrong, "vending")

    cut = subprocess.Popen(
        [os.path.join(BIN, "prepay"), "provision", "meter", "--port", board.console,
         "--config", str(config), "--meter", PAN], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env=station.env)
    line = ""
    while "vending" not in line:            # the install starts after the key is derived
        line = cut.stderr.readline()
        assert line, cut.stderr.read()
    time.sleep(1.5)
    board.stop()                            # the console goes away mid-install
    out, err = cut.communicate(timeout=60)
    station.said += [out, line, err]
    cut.stdout, cut.stderr = out, line + err
    assert cut.returncode == 2
    assert err.strip().splitlines()[-1].startswith("prepay provision: error: step install: ")
    board.start(blank=False)                # the same board, powered again

    refused = station.provision(board, model_config(tmp_path, "BAD.json",
                                                    display={"decimals": 9}), check=False)
    last = one_line_error(refused, "boot")
    assert "refuses its configuration: display.decimals" in last

    done = station.provision(board, config)            # the re-run completes
    assert "meter %s commissioned" % PAN in done.stdout

    other = station.provision(board, config, pan=OTHER_PAN, check=False)
    assert "commissioned as %s; refusing to give it %s" % (PAN, OTHER_PAN) in \
        one_line_error(other, "console")
    board.stop()
    assert_key_nowhere(station, board, tmp_path)
