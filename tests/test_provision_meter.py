"""``prepay provision meter`` (issue 15): a blank simulated board to a commissioned meter
the clerk sells to at once, by tom, a technician, locally or through the vending server,
on SQLite and PostgreSQL; the failure paths (one line each, a re-run completes); the
meter's TID memory when it is provisioned again; and its secrets (decoder key, command
key, broker password) found nowhere they should not be. Everything as a user runs it:
the ``prepay`` command, a board started with ``prepay sim --blank``."""
import json
import os
import select
import subprocess
import time

import pytest

from host.readout import jobs
from tests.console_board import BIN, BenchBoard
from tests.provisioning_station import (IR_TIMEOUT_S, KEY, KEY_PARTITION, OTHER_PAN, PAN,
                                        TECHNICIAN_PW, Station, database_url, model_config)

CLERK = {"PREPAY_OPERATOR": "alice", "PREPAY_OPERATOR_PASSWORD": "alice-secret-1"}


@pytest.fixture
def board(tmp_path):
    b = BenchBoard(tmp_path).start()
    yield b
    b.stop()


@pytest.fixture
def station(request, tmp_path):
    db, door = request.param
    made = Station(tmp_path, database_url(db, tmp_path), served=door == "server").setup()
    yield made
    made.stop()


BOTH = [("sqlite", "local"), ("sqlite", "server"), ("postgresql", "local"), ("postgresql", "server")]
PAIRS = [("sqlite", "local"), ("postgresql", "server")]


def one_line_error(done, step):
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("prepay provision: error: step %s: " % step), done.stderr
    assert done.stdout == ""
    return last


def credit_cents(port):
    value = {r["obis"]: r["value"] for r in jobs.readout(port, timeout=IR_TIMEOUT_S)}["0-0:19.0.0"]
    whole, _, frac = value.partition(".")
    return int(whole) * 100 + int(frac or 0)


def sell(station, amount="100.00"):
    sale = station.run("vend", "sell", "--meter", PAN, "--amount", amount, "--channel", "cash",
                       "--json", env=CLERK)
    return json.loads(sale.stdout)


@pytest.mark.parametrize("station", BOTH, indirect=True, ids=["-".join(p) for p in BOTH])
def test_blank_board_to_a_sale_accepted_on_the_meter(board, station, tmp_path):
    config = model_config(tmp_path)
    done = station.provision(board, config)
    assert "meter %s commissioned" % PAN in done.stdout
    for step in ("install", "boot", "identity", "readout", "clock", "test-token", "relay",
                 "record"):
        assert "prepay provision: %-13s " % step in done.stderr, done.stderr
    assert "decoder key SGC 201457 KRN 1, command key, broker password derived by the key custody at " \
        in done.stderr and " for tom" in done.stderr
    assert not station.served or station.server.url in done.stderr
    shown = station.run("vend", "meter", "show", "--meter", PAN, "--json").stdout
    record = json.loads(shown)
    assert record["status"] == "active"         # activated by the commissioning
    assert record["commissioning"]["technician"] == "tom"
    assert record["commissioning"]["serial"] == "SIM-E-0001"
    assert {s["step"]: s["result"] for s in record["commissioning"]["self_test"]}["test-token"] == "ok"
    text = station.run("vend", "meter", "show", "--meter", PAN).stdout
    assert "commissioned " in text and "by tom" in text
    audit = station.run("vend", "audit", "show", "--json").stdout
    actions = [(e["operator"], e["action"]) for e in json.loads(audit)["entries"]]
    assert ("tom", "meter_keys_issued") in actions and ("tom", "meter_commission") in actions

    before = credit_cents(board.ir)
    token = sell(station)["tokens"][0]["digits"]
    assert jobs.send_token(board.ir, TECHNICIAN_PW, token, timeout=IR_TIMEOUT_S) == (True, "Accept")
    assert credit_cents(board.ir) - before >= 8600      # 100.00 less 16% VAT, at least
    board.stop()
    station.stop()
    assert_secrets_nowhere(station, tmp_path)


def assert_secrets_nowhere(station, tmp_path):
    """The decoder key, the command key and the broker password: not in any output, the
    database, the server's log, the board's log, or any file left behind; in flash.img
    only inside the key partition (the simulator does not model the ESP32's flash
    encryption, docs/meter-security.md)."""
    command_key, broker_password = station.secrets()
    needles = []
    for secret in (KEY, command_key):
        needles += [secret.encode(), secret.upper().encode(), bytes.fromhex(secret)]
    needles.append(broker_password.encode())
    for text in station.said:
        for needle in needles[::3] + [broker_password.encode()]:
            assert needle.decode() not in text.lower()
    if not station.db_url.startswith("postgresql"):
        assert os.path.exists(station.db_url)       # the database file is among those grepped
    else:
        import psycopg
        with psycopg.connect(station.db_url.replace("postgresql+psycopg", "postgresql")) as conn:
            dump = repr([conn.execute("SELECT * FROM %s" % table).fetchall() for (table,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()])
        for needle in needles[::3] + [broker_password.encode()]:
            assert needle.decode() not in dump.lower()
    seen = 0
    for root, _, names in os.walk(tmp_path):
        for name in names:
            path = os.path.join(root, name)
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            seen += 1
            if name == "flash.img":
                data = data[:-KEY_PARTITION]
            for needle in needles:
                assert needle not in data, path
    assert seen >= 3          # at least the model's configuration, the board's log and its flash


@pytest.mark.parametrize("station", PAIRS, indirect=True, ids=["-".join(p) for p in PAIRS])
def test_failures_say_their_step_in_one_line_and_a_rerun_completes(board, station, tmp_path):
    config = model_config(tmp_path)

    if station.served:        # the technician's own login is checked by the server
        wrong = station.provision(board, config, check=False, env={"PREPAY_OPERATOR_PASSWORD": "wrong"})
        assert "unknown name or wrong password" in one_line_error(wrong, "vending")
    else:                     # the keystore's passphrase, on a single station
        wrong = station.provision(board, config, check=False,
                                  env={"PREPAY_KEYSTORE_PASSPHRASE": "not the passphrase"})
        assert "passphrase" in one_line_error(wrong, "vending")
    clerk = station.provision(board, config, check=False, env=CLERK)
    assert "alice is a clerk" in one_line_error(clerk, "vending")

    cut_mid_install(station, board, config)
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
    station.stop()
    assert_secrets_nowhere(station, tmp_path)


def cut_mid_install(station, board, config):
    """The console goes away while files are being installed: the run's stderr is a
    terminal (a pty), so its install progress shows, and the board is stopped after the
    third file, however slow the machine."""
    master, slave = os.openpty()
    cut = subprocess.Popen([os.path.join(BIN, "prepay")] + [str(a) for a in station.provision_args(board, config)],
                           cwd=station.dir, stdout=subprocess.PIPE, stderr=slave, text=True,
                           env=dict(station.env, **station.technician_env()))
    os.close(slave)
    said = b""
    end = time.monotonic() + 600
    while b"install       3/" not in said and time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            said += chunk
    assert b"install       3/" in said, said.decode(errors="replace")
    board.stop()                            # the console goes away mid-install
    while True:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            said += chunk
        elif cut.poll() is not None:
            break
    out = cut.stdout.read()
    cut.wait(timeout=120)
    os.close(master)
    text = said.decode(errors="replace")
    station.said += [out, text]
    assert cut.returncode == 2 and out == ""
    last = text.replace("\r", "\n").strip().splitlines()[-1]
    assert last.lstrip("\x1b[K").startswith("prepay provision: error: step install: "), text


@pytest.mark.parametrize("station", [("sqlite", "local")], indirect=True, ids=["sqlite-local"])
def test_provisioning_again_keeps_tokens_sold_before(board, station, tmp_path):
    """A meter provisioned again keeps its TID memory: a token sold before and not yet
    entered is accepted after, one entered before is still Used. A new board given the
    PAN starts a new TID memory at the station's clock: the tokens sold since the last
    commissioning are Old on it, and the run says which receipts, for the utility to
    credit the customer (docs/meter-security.md)."""
    config = model_config(tmp_path)
    station.provision(board, config)
    entered, waiting = sell(station), sell(station, "50.00")
    token = entered["tokens"][0]["digits"]
    assert jobs.send_token(board.ir, TECHNICIAN_PW, token, timeout=IR_TIMEOUT_S) == (True, "Accept")
    again = station.provision(board, config)
    assert "the meter keeps its TID memory" in again.stderr
    assert jobs.send_token(board.ir, TECHNICIAN_PW, waiting["tokens"][0]["digits"], timeout=IR_TIMEOUT_S) == (True, "Accept")
    assert jobs.send_token(board.ir, TECHNICIAN_PW, token, timeout=IR_TIMEOUT_S)[1] == "Used"

    late = sell(station, "20.00")
    board.stop()
    spare = BenchBoard(tmp_path, "spare").start()        # the meter's board replaced
    try:
        fresh = station.provision(spare, config)
        assert "new TID memory from TID" in fresh.stderr
        assert "1 token(s) sold before are Old on this meter (new TID memory): receipts %d" \
            % late["receipt"] in fresh.stdout
        assert jobs.send_token(spare.ir, TECHNICIAN_PW, late["tokens"][0]["digits"], timeout=IR_TIMEOUT_S)[1] == "Old"
    finally:
        spare.stop()
