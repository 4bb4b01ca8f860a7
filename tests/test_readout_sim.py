"""The simulated meter's optical port through its pty, read by an independent client (the
PyPI ``iec62056-21`` package, wrapped as ../shared/docs/iec62056-21.md section 8.2 says)
and by ``prepay read``: every documented line, R1 and W1, a token over W1 crediting
once, the password lockout surviving a power cut, one clear line when nothing answers."""
import json
import os
import re
import subprocess
import sys
import threading

import pytest
import serial
from iec62056_21 import messages, transports
from iec62056_21.client import Iec6205621Client

from host.readout import jobs
from host.readout.client import ModeCClient, ReadoutError
from host.readout.obis import MEANINGS
from host.sim.runner import Sim
from host.sim.script import meter_seconds
from tokens import build
from tokens.tid import tid_at

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "boards", "sim", "examples", "electricity-currency-tou.json")
KEY = "87f3ecbb2e46b48f"
READER, TECHNICIAN = "rd-4711", "tech-0815"
# 64K held a meter and its optical sessions until the online task came (2026-11-29): in
# 64K the token and clock writes now fail now and then (MemoryError in the meter, answered
# FAULT, nothing changed; bench_iec62056.py --story); an ESP32 has ~100 KB
HEAP = "72K"


class PortTransport(transports.SerialTransport):
    """The library's transport opening device paths and URLs alike, switching the baud
    on the open port (its own re-open flushes the meter's first bytes)."""

    def connect(self):
        self.port = serial.serial_for_url(
            self.port_name, baudrate=300, parity=serial.PARITY_EVEN,
            stopbits=serial.STOPBITS_ONE, bytesize=serial.SEVENBITS, timeout=self.timeout / 2)

    def switch_baudrate(self, baud):
        self.port.baudrate = baud


class Served:
    """A simulated meter answering its optical port in real time, in a thread."""

    def __init__(self, state_dir, link, heap=HEAP):
        with open(EXAMPLE) as f:
            config = json.load(f)
        config["ir"] = {"passwords": {"reader": READER, "technician": TECHNICIAN}}
        os.makedirs(state_dir, exist_ok=True)
        with open(os.path.join(state_dir, "meter.json"), "w") as f:
            json.dump(config, f)
        # the most ESP32-like runtime, as the sim stories: 32 bits, frozen, a small heap
        self.sim = Sim(state_dir, heap=heap, runtime="frozen32", heap_mode="off",
                       ir_link=link)
        self.sim.world.rtc_s = meter_seconds("2026-11-23T08:00")
        self.port = link
        self.thread = None

    def start(self, seconds=60):
        if not self.sim.on:
            self.sim.power_on()
        self.stop_at = seconds
        self.thread = threading.Thread(target=self.sim.serve, args=(seconds * 1000,))
        self.thread.start()

    def wait(self):
        self.thread.join()

    def finish(self):
        if self.thread is not None:
            self.thread.join()
        self.sim.finish()


@pytest.fixture
def meter(tmp_path):
    served = Served(str(tmp_path / "state"), str(tmp_path / "ir"))
    yield served
    served.finish()


def client(port):
    return Iec6205621Client(PortTransport(port, timeout=4), password=TECHNICIAN)


def test_an_independent_client_reads_every_documented_line(meter):
    meter.start(12)
    c = client(meter.port)
    c.connect()
    readout = c.standard_readout()      # its parser checks the BCC
    c.disconnect()
    codes = [d.address for d in readout.data]
    assert set(codes) <= set(MEANINGS) | {"1-0:1.8.1", "1-0:1.8.2", "1-0:1.8.3"}
    abstract = [c for c in MEANINGS if c.startswith("0-0:")]
    readout_codes = {"0-0:96.1.0", "0-0:96.1.1", "0-0:0.2.0", "0-0:1.0.0", "1-0:1.8.0",
                     "1-0:1.7.0", "1-0:32.7.0", "1-0:31.7.0", "0-0:19.0.0", "0-0:96.3.10",
                     "0-0:128.97.0", "0-0:97.97.0", "0-0:19.20.0", "0-0:128.14.0"}
    assert readout_codes <= set(codes) and abstract
    values = {d.address: (d.value, d.unit) for d in readout.data}
    assert values["1-0:1.8.0"] == ("0.000", "kWh") and values["0-0:19.20.0"] == ("10.00", "KES")
    assert c.manufacturer_id == "PPM"

    c = client(meter.port)                  # programming mode: P1, R1, W1, B0
    c.connect()
    request = c.access_programming_mode()
    assert (request.command, str(request.command_type)) == ("P", "0")
    assert request.data_set.value == "SIM-E-0001"
    c.transport.send(messages.CommandMessage(
        command="P", command_type=1,
        data_set=messages.DataSet(address="", value=TECHNICIAN)).to_bytes())
    assert c._recv_ack() == "\x06"
    assert c.read_single_value("1-0:1.8.0").value == "0.000"
    c.write_single_value("0-0:1.0.0", "261124090000")
    assert c.read_single_value("0-0:1.0.0").value.startswith("2611240900")
    c.send_break()
    c.disconnect()


def test_a_token_over_the_port_credits_once_and_the_lock_survives_a_power_cut(meter):
    meter.start(20)
    token = build.currency_token(bytes.fromhex(KEY), "sta", "electricity",
                                 tid_at(2014, 2026, 11, 23, 7, 0), 5000000)   # 50.00
    assert jobs.send_token(meter.port, TECHNICIAN, token.digits) == (True, "Accept")
    credit = [r for r in jobs.readout(meter.port) if r["obis"] == "0-0:19.0.0"][0]
    assert credit["value"] == "%d.%02d" % (token.value // 100000, token.value // 1000 % 100)
    assert jobs.send_token(meter.port, TECHNICIAN, token.digits) == (False, "Used")
    for guess in ("guess-1", "guess-2", "guess-3"):
        with pytest.raises(ReadoutError, match="refused the password$"):
            jobs.events(meter.port, guess)
    with pytest.raises(ReadoutError, match=r"LOCKED \d+ S"):
        jobs.events(meter.port, TECHNICIAN)
    meter.wait()
    meter.sim.power_cut()
    meter.sim.power_on()
    meter.start(8)
    with pytest.raises(ReadoutError, match=r"LOCKED \d+ S"):
        jobs.events(meter.port, TECHNICIAN)
    assert [r["value"] for r in jobs.readout(meter.port) if r["obis"] == "0-0:19.0.0"] \
        == [credit["value"]]


def test_prepay_read_prints_the_table_and_one_line_when_nothing_answers(meter, tmp_path):
    meter.start(8)
    proc = subprocess.run([sys.executable, "-m", "host.cli", "read", "--port", meter.port],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^1-0:1\.8\.0 +0\.000 kWh  active energy import, total$", proc.stdout,
                     re.M)
    proc = subprocess.run([sys.executable, "-m", "host.cli", "read", "set-clock", "--port",
                           meter.port, "--time", "2026-11-23T09:30", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, PREPAY_METER_PASSWORD=TECHNICIAN))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["clock"].startswith("2026-11-23T09:30")
    lone = str(tmp_path / "lone")        # a pty nobody answers on
    master, slave = os.openpty()
    os.symlink(os.ttyname(slave), lone)
    proc = subprocess.run([sys.executable, "-m", "host.cli", "read", "--port", lone,
                           "--timeout", "0.5", "--retries", "1"], cwd=ROOT,
                          capture_output=True, text=True,
                          timeout=30)
    os.close(master)
    os.close(slave)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "prepay read: error: no identification from the meter at %s within 0.5 s (2 tries)"
        % lone]


def test_an_echoing_head_is_recognised():
    with pytest.raises(ReadoutError, match="no identification"):
        with ModeCClient("loop://", timeout=0.3) as c:      # everything sent comes back
            try:
                c.sign_on()
            finally:
                assert c.echo == "on"


def test_a_long_tariff_table_goes_in_partial_blocks_and_a_password_is_changed(tmp_path):
    # a 540-byte value needs ~520-byte holes in the heap while it is gathered and parsed:
    # a just-booted frozen32 meter in 64K has none (it answers NO MEMORY, changing
    # nothing); an ESP32 has ~100 KB
    meter = Served(str(tmp_path / "state"), str(tmp_path / "ir"), heap="80K")
    try:
        long_tariff_and_password(meter, tmp_path)
    finally:
        meter.finish()


def long_tariff_and_password(meter, tmp_path):
    meter.start(25)
    week = [[0, 4], [300, 1], [360, 2], [480, 1], [600, 3], [720, 1], [840, 2], [960, 1],
            [1020, 2], [1140, 3], [1260, 1], [1380, 4]]
    table = {"kind": "tou", "name": "Domestic TOU 2027, four rates, holidays at the night rate",
             "prices": [20000000, 30000000, 12000000, 9000000],
             "standing_micro_per_day": 10000000,
             "profiles": {"weekday": week, "weekend": [[0, 4]] + [[m + 30, r] for m, r in week[1:]],
                           "holiday": [[0, 4]] + week[1:]}}
    (tmp_path / "table.json").write_text(json.dumps(table))
    assert len("0-0:128.20.1(261201000000;%s)" % json.dumps(table, separators=(",", ":"))) > 512
    env = dict(os.environ, PREPAY_METER_PASSWORD=TECHNICIAN)
    proc = subprocess.run([sys.executable, "-m", "host.cli", "read", "set-tariff", "--port",
                           meter.port, "--table", str(tmp_path / "table.json"), "--start",
                           "2026-12-01T00:00", "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    pending = json.loads(proc.stdout)
    assert pending["start"] == "2026-12-01T00:00:00"
    assert json.loads(pending["table"])["profiles"]["holiday"] == table["profiles"]["holiday"]
    env["PREPAY_METER_NEW_PASSWORD"] = "tech-0042"
    proc = subprocess.run([sys.executable, "-m", "host.cli", "read", "set-password", "--port",
                           meter.port, "--level", "technician"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "tech-0042" not in proc.stdout + proc.stderr
    with pytest.raises(ReadoutError, match="refused the password$"):
        jobs.events(meter.port, TECHNICIAN)
    details = [e["detail"] for e in jobs.events(meter.port, "tech-0042", 10)]
    assert "write_password_technician" in details and "write_pending_tariff" in details


class Head(threading.Thread):
    """An optical head between ``prepay read`` and the simulated meter's port, as the
    field has them: it echoes what the reader sends, and may hold the meter's
    identification back (a meter that answers late) or spoil a byte of its data (a
    noisy link)."""

    def __init__(self, meter_port, late_s=0.0, spoil=False):
        super().__init__(daemon=True)
        import tty
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        self.path = os.ttyname(self.slave)
        self.meter = os.open(meter_port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.meter)
        self.late_s = late_s
        self.spoil = spoil
        self.stop_r, self.stop_w = os.pipe()
        self.start()

    def run(self):
        import select
        import time
        while True:
            ready = select.select([self.master, self.meter, self.stop_r], [], [])[0]
            if self.stop_r in ready:
                return
            if self.master in ready:
                data = os.read(self.master, 4096)
                os.write(self.master, data)             # the echo
                os.write(self.meter, data)
            if self.meter in ready:
                data = bytearray(os.read(self.meter, 4096))
                if data[:1] == b"/":
                    time.sleep(self.late_s)
                if self.spoil and b"\x02" in data:
                    at = data.index(b"\x02") + 1
                    if at < len(data):
                        data[at] ^= 0x01
                        self.spoil = False
                os.write(self.master, bytes(data))

    def close(self):
        os.write(self.stop_w, b"x")
        self.join(timeout=5)
        for fd in (self.master, self.slave, self.meter, self.stop_r, self.stop_w):
            os.close(fd)


def test_prepay_read_through_an_echoing_late_head_and_a_noisy_one(meter):
    meter.start(60)
    read = [sys.executable, "-m", "host.cli", "read"]
    head = Head(meter.port, late_s=1.5)
    try:
        proc = subprocess.run(read + ["--port", head.path, "--csv", "--switch-delay", "0.25"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        head.close()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "obis,value,unit,meaning"
    assert "1-0:1.8.0,0.000,kWh,\"active energy import, total\"" in lines
    head = Head(meter.port, spoil=True)
    try:
        proc = subprocess.run(read + ["--port", head.path], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
    finally:
        head.close()
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "prepay read: error: the meter's answer has a wrong block check (BCC): a noisy "
        "optical link? try again"]
    token = build.currency_token(bytes.fromhex(KEY), "sta", "electricity",
                                 tid_at(2014, 2026, 11, 23, 7, 0), 1000000)
    env = dict(os.environ, PREPAY_METER_PASSWORD=TECHNICIAN)
    answers = []
    for _ in range(2):      # the meter's NAK to a used token: one line, exit 1
        answers.append(subprocess.run(read + ["send-token", "--port", meter.port, token.digits],
                                      cwd=ROOT, capture_output=True, text=True, timeout=60,
                                      env=env))
    assert [(p.returncode, p.stdout) for p in answers] == [
        (0, "token accepted: Accept\n"), (1, "token refused: Used\n")], answers
    env.pop("PREPAY_METER_PASSWORD")        # no password from the command line, ever
    proc = subprocess.run(read + ["events", "--port", meter.port], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        "prepay read: error: the meter's password: set PREPAY_METER_PASSWORD or run in a "
        "terminal to be asked"]
    proc = subprocess.run(read + ["events", "--port", meter.port, "--password", TECHNICIAN],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "unrecognized arguments: --password" in proc.stderr
