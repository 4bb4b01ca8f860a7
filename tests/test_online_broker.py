"""The simulated meter online with a real broker (Debian's mosquitto, started here on a
free loopback port with a password file and per-meter ACLs): presence with its last
will, readings, events and token results; signed commands executed once and forged,
replayed, stale and cross-meter ones refused with a signed answer; a broker restart
survived; a simulated day offline replayed in order with its original times. The meter
is the 32-bit frozen firmware, as the sim stories run it, in a 72 KB heap: an online
meter does not fit the 64 KB the offline one does (bench/bench_online_heap.py measures
it; the MQTT task and its rooms hold about 6 KB); the head-end's place is taken by a
paho-mqtt client speaking docs/mqtt.md."""
import getpass
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from host.sim.runner import Sim
from host.sim.script import meter_seconds
from tokens import build
from tokens.tid import tid_at

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "boards", "sim", "examples", "electricity-currency-tou.json")
KEY = "87f3ecbb2e46b48f"
PAN = "600727000000000017"
OTHER_PAN = "600727000000000025"
CMD_KEY = hashlib.sha256(b"test command key").digest()
BROKER_PASSWORD = "meter-broker-pw-17"
HEADEND_PASSWORD = "headend-pw"
START = meter_seconds("2026-11-23T08:00")
UNIX_START = START + 946684800            # utc_offset_s 0
HEAP = "72K"        # see the module doc: 64K is not enough for an online meter yet
WAIT_S = 60                               # generous: the machine is shared

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None,
                                reason="Debian's mosquitto is not installed")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto on 127.0.0.1:port: users from a password file, each meter confined
    to its own topic by the ACL, the head-end to the fleet's."""

    def __init__(self, folder):
        self.folder = folder
        self.port = free_port()
        os.makedirs(folder, exist_ok=True)
        passwd = os.path.join(folder, "passwd")
        for user, password in ((PAN, BROKER_PASSWORD), ("headend", HEADEND_PASSWORD)):
            subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if user == PAN else [])
                           + [passwd, user, password], check=True, capture_output=True)
        acl = os.path.join(folder, "acl")
        with open(acl, "w") as f:
            f.write("user headend\ntopic readwrite prepay/#\n\n"
                    "pattern readwrite prepay/%u/#\n")
        self.conf = os.path.join(folder, "mosquitto.conf")
        with open(self.conf, "w") as f:
            # user: as root mosquitto would switch to 'mosquitto', who cannot read here
            f.write("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\n"
                    "acl_file %s\npersistence false\nlog_dest file %s\nuser %s\n"
                    % (self.port, passwd, acl, os.path.join(folder, "log"),
                       getpass.getuser()))
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("mosquitto did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


class HeadEnd:
    """Listens to the fleet and signs commands, as docs/mqtt.md says the head-end does."""

    def __init__(self, port):
        self.got = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="headend")
        self.client.username_pw_set("headend", HEADEND_PASSWORD)
        self.client.on_message = self._message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("prepay/#", 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.ctr = 0
        self.meter_now = None       # the meter's clock in Unix seconds (the sim's)

    def _message(self, client, userdata, msg):
        with self.lock:
            self.got.append((msg.topic, msg.payload, msg.retain))

    def leaf(self, leaf, pan=PAN):
        with self.lock:
            return [(p, r) for t, p, r in self.got if t == "prepay/%s/%s" % (pan, leaf)]

    def json(self, leaf):
        return [json.loads(p) for p, _ in self.leaf(leaf)]

    def results(self):
        out = []
        for payload, _ in self.leaf("result"):
            line, tag = payload.split(b"\n")
            expected = hmac.new(CMD_KEY, b"prepay-res\n" + line, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(tag.decode(), expected), "result not signed"
            out.append(json.loads(line))
        return out

    def signed(self, name, args=(), ctr=None, pan=PAN, exp=None, key=CMD_KEY):
        if ctr is None:
            self.ctr += 1
            ctr = self.ctr
        line = json.dumps({"ctr": ctr, "pan": pan, "exp": exp or self.meter_now() + 3600,
                           "cmd": name, "args": list(args)}).encode()
        return line + b"\n" + hmac.new(key, b"prepay-cmd\n" + line,
                                       hashlib.sha256).hexdigest().encode()

    def send(self, payload, pan=PAN):
        self.client.publish("prepay/%s/cmd" % pan, payload, qos=1).wait_for_publish(WAIT_S)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def serve_until(sim, done, what):
    """Let the meter run in real time until ``done()`` or a generous deadline."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        sim.serve(500)
        if done():
            return
    raise AssertionError("the meter never did: " + what)


@pytest.fixture
def online(tmp_path):
    broker = Broker(str(tmp_path / "broker"))
    headend = sim = None
    try:                        # the broker goes whatever happens to the meter
        headend = HeadEnd(broker.port)
        with open(EXAMPLE) as f:
            config = json.load(f)
        config["online"] = {"broker": "127.0.0.1:%d" % broker.port, "utc_offset_s": 0,
                            "command_key": CMD_KEY.hex(), "broker_password": BROKER_PASSWORD}
        state = str(tmp_path / "state")
        os.makedirs(state)
        with open(os.path.join(state, "meter.json"), "w") as f:
            json.dump(config, f)
        sim = Sim(state, heap=HEAP, runtime="frozen32", heap_mode="step",
                  ir_link=str(tmp_path / "ir"))
        sim.world.rtc_s = START
        sim.power_on()
        headend.meter_now = lambda: sim.world.rtc_s + 946684800      # utc_offset_s 0
        yield sim, broker, headend
    finally:
        try:
            if sim is not None:
                sim.finish()
        finally:
            if headend is not None:
                headend.close()
            broker.stop()


def test_in_a_heap_too_small_the_meter_stays_offline_and_meters(tmp_path):
    """64K on frozen32 is not enough for an online meter (docs/mqtt.md): it says so once
    and meters and takes tokens as an offline one, instead of starving its other tasks."""
    broker = Broker(str(tmp_path / "broker"))
    try:
        with open(EXAMPLE) as f:
            config = json.load(f)
        config["online"] = {"broker": "127.0.0.1:%d" % broker.port,
                            "command_key": CMD_KEY.hex(), "broker_password": BROKER_PASSWORD}
        state = str(tmp_path / "state")
        os.makedirs(state)
        with open(os.path.join(state, "meter.json"), "w") as f:
            json.dump(config, f)
        sim = Sim(state, heap="64K", runtime="frozen32", heap_mode="off",
                  ir_link=str(tmp_path / "ir"))
        sim.world.rtc_s = START
        sim.power_on()
        try:
            sim.send("keys %s#" % token(3))
            sim.send("load 1000000")
            sim.advance(6 * 3600 * 1000)
            status = sim.status()
        finally:
            sim.finish()
    finally:
        broker.stop()
    assert status["online"] is None and status["crashes"] == 0
    assert status["last_token"]["result"] == "Accept" and status["import_milli"] > 0


def token(minute):
    return build.currency_token(bytes.fromhex(KEY), "sta", "electricity",
                                tid_at(2014, 2026, 11, 23, 7, minute), 100000).digits


def test_meter_reports_obeys_signed_commands_and_refuses_the_others(online):
    sim, broker, headend = online
    serve_until(sim, lambda: (b"online", True) in headend.leaf("status") or
                (b"online", False) in headend.leaf("status"), "say it is online")
    assert sim.status()["online"]["connected"]
    sim.send("keys %s#" % token(1))
    sim.advance(15 * 60 * 1000)             # the quarter hour's reading
    serve_until(sim, lambda: headend.json("reading"), "publish a reading")
    reading = headend.json("reading")[0]
    assert reading["t"] == UNIX_START + 900 and reading["period_s"] == 900
    assert reading["values"]["0-0:96.1.0"] == ["SIM-E-0001", ""]
    assert reading["values"]["0-0:19.0.0"][1] == "KES"
    events = headend.json("event")
    results = [e for e in events if e["code"] == "token.result"]
    assert results and results[0]["data"]["result"] == "Accept"
    assert "token.credit" in [e["code"] for e in events]

    headend.send(headend.signed("supply", ["off"]))
    serve_until(sim, lambda: headend.results(), "answer a command")
    assert headend.results()[0]["code"] == "ok" and headend.results()[0]["ctr"] == 1
    assert sim.status()["supply_reason"] == "manual_off"
    replay = headend.signed("supply", ["on"])
    headend.send(replay)
    serve_until(sim, lambda: len(headend.results()) == 2, "answer the second command")
    assert sim.status()["supply"] == "on"
    refusals = (
        (replay, "replayed"),
        (headend.signed("supply", ["off"], exp=headend.meter_now() - 60), "expired"),
        (headend.signed("supply", ["off"], pan=OTHER_PAN), "wrong-meter"),
        (headend.signed("supply", ["off"], key=b"\x01" * 32), "forged"))
    for payload, code in refusals:
        headend.send(payload)
        n = len(headend.results())
        serve_until(sim, lambda: len(headend.results()) > n, "refuse a command")
        assert headend.results()[-1]["code"] == code
        assert sim.status()["supply"] == "on", code
    assert headend.results()[-1]["ctr"] is None            # forged: nothing echoed
    # a retained command reaches the meter flagged when it subscribes: never acted on
    sim.send("network 0")
    serve_until(sim, lambda: not sim.status()["online"]["connected"], "go offline")
    headend.client.publish("prepay/%s/cmd" % PAN, headend.signed("supply", ["off"]),
                           qos=1, retain=True).wait_for_publish(WAIT_S)
    sim.send("network 1")
    serve_until(sim, lambda: "command.retained" in [e["code"] for e in headend.json("event")],
                "drop a retained command")
    assert sim.status()["supply"] == "on"
    headend.client.publish("prepay/%s/cmd" % PAN, b"", qos=1, retain=True)   # cleared
    codes = [e["code"] for e in headend.json("event")]
    for code in ("command.supply", "command.replayed", "command.expired",
                 "command.wrong-meter", "command.forged"):
        assert code in codes
    seqs = [m["seq"] for m in headend.json("reading") + headend.json("event")]
    assert len(seqs) == len(set(seqs))
    status = sim.status()
    assert status["online"]["refused"] == 4 and status["crashes"] == 0
    text = json.dumps(status) + "".join(p.decode(errors="replace") for _, p, _ in headend.got)
    assert CMD_KEY.hex() not in text and BROKER_PASSWORD not in text


def test_the_acl_keeps_a_meter_to_its_own_topic(online):
    """The broker half of the contract: the meter's credentials cannot publish as
    another meter (the meter never tries; this checks the broker the tests run)."""
    sim, broker, headend = online
    spy = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="spy")
    spy.username_pw_set(PAN, BROKER_PASSWORD)
    spy.connect("127.0.0.1", broker.port)
    spy.loop_start()
    spy.publish("prepay/%s/reading" % OTHER_PAN, b"{}", qos=1).wait_for_publish(WAIT_S)
    time.sleep(1)
    spy.loop_stop()
    spy.disconnect()
    assert headend.leaf("reading", pan=OTHER_PAN) == []


def test_broker_restart_and_a_day_offline_are_replayed_in_order(online):
    sim, broker, headend = online
    serve_until(sim, lambda: sim.status()["online"]["connected"], "connect")
    broker.stop()
    broker.start()
    serve_until(sim, lambda: sim.status()["online"]["connects"] >= 2, "reconnect")
    serve_until(sim, lambda: headend.leaf("status").count((b"online", False)) >= 1
                or len(headend.leaf("status")) >= 1, "say online again")

    sim.send("network 0")                   # the Wi-Fi drops: the will says offline
    serve_until(sim, lambda: (b"offline", False) in headend.leaf("status"),
                "be reported offline by its will")
    before = len(headend.json("reading"))
    sim.send("keys %s#" % token(2))
    sim.advance(24 * 3600 * 1000)           # a day offline
    status = sim.status()
    assert not status["online"]["connected"] and status["online"]["backlog_bytes"] > 0
    assert len(headend.json("reading")) == before
    sim.send("network 1")
    serve_until(sim, lambda: len(headend.json("reading")) >= before + 96
                and sim.status()["online"]["backlog_bytes"] == 0, "send its backlog")
    readings = headend.json("reading")[before:]
    times = [r["t"] for r in readings]
    assert times == sorted(times) and len(set(times)) == len(times)
    day = [t for t in times if t <= times[0] + 24 * 3600 - 900]
    assert len(day) == 96 and all(b - a == 900 for a, b in zip(day, day[1:]))
    msgs = headend.json("reading") + headend.json("event")
    seqs = sorted(m["seq"] for m in msgs)
    assert len(seqs) == len(set(seqs))
    tokens = [e for e in headend.json("event") if e["code"] == "token.result"]
    assert tokens and tokens[-1]["t"] < times[1]       # with the time it happened
    assert sim.heap_peak < 64 * 1024 and sim.status()["crashes"] == 0


def test_the_mqtt_client_ships_in_the_bundle_and_the_frozen_image():
    """One list: the bundle's file plan, which the frozen manifest is made from."""
    from host.firmware.manifest import frozen_modules
    from host.provisioning.bundle import plan
    for board in ("esp32", "sim"):
        shipped = [dest for _, dest, _ in plan(ROOT, board)]
        for name in ("lib/umqtt/simple.mpy", "lib/app_mqtt.mpy", "lib/online/link.mpy"):
            assert name in shipped, (board, name)
    frozen = [n for _, names in frozen_modules("sim") for n in names]
    assert "umqtt/simple.py" in frozen and "online/commands.py" in frozen
