"""The online room on the real meter application, in both runtimes (docs/mqtt.md):
HMAC-SHA-256 against RFC 4231 and CPython's hmac, the online settings, signed command
verification and every refusal, commands through the keypad's and the optical port's own
calls, readings with the optical readout's values, events and token results in order,
the counter saved before a command acts, and the backlog's bounds and coarsening.

``send`` here stands for the broker connection (``app_mqtt.Session.publish``): it records
what would be published, or raises OSError as a dropped connection does. The broker
itself is in tests/test_online_broker.py."""
DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "800K"   # several power-ons of the app, loaded as .mpy files

import json

from dualrt import IS_MICROPYTHON, raises, tmp_dir
from meter.errors import ConfigError
from online import commands, messages, settings
from online.link import RECORD, Link
from online.outbox import Outbox
from optical_kit import KEY, T0, Bench, config
from tokens import build
from tokens.tid import tid_at

PAN = "600727000000000017"
CMD_KEY = bytes(range(32))
ONLINE = {"broker": "127.0.0.1:1883", "utc_offset_s": 10800,
          "command_key": "".join("%02x" % b for b in CMD_KEY), "broker_password": "pw-1"}
UNIX_T0 = messages.unix(T0, {"utc_offset_s": 10800})


def hex_hmac(key, data):
    if IS_MICROPYTHON:          # no hmac module there: the room's, checked on CPython
        return messages.hex_mac(key, data)
    import hashlib
    import hmac
    return hmac.new(key, data, hashlib.sha256).hexdigest().encode()


def signed(obj, key=CMD_KEY):
    line = json.dumps(obj).encode()
    return line + b"\n" + hex_hmac(key, b"prepay-cmd\n" + line)


def cmd(ctr, name, args=(), pan=PAN, exp=None):
    return {"ctr": ctr, "pan": pan, "exp": UNIX_T0 + 600 if exp is None else exp,
            "cmd": name, "args": list(args)}


class Wire:
    """What would be published, by leaf; ``down`` makes it fail like a dropped link."""

    def __init__(self):
        self.sent = []
        self.down = False

    def __call__(self, leaf, payload):
        if self.down:
            raise OSError(104)
        if not isinstance(payload, str):        # a memoryview of the link's frame
            payload = bytes(payload).decode()
        self.sent.append((leaf, payload))

    def messages(self, leaf):
        return [json.loads(p) for lf, p in self.sent if lf == leaf]

    def results(self):
        out = []
        for lf, p in self.sent:
            if lf == "result":
                line, _, tag = p.partition("\n")
                assert tag.encode() == hex_hmac(CMD_KEY, b"prepay-res\n" + line.encode())
                out.append(json.loads(line))
        return out


def bench(name, **online):
    d = tmp_dir(name)
    cfg = dict(ONLINE)
    cfg.update(online)
    b = Bench(d, config(online=cfg))
    return b, Link(b.app, b.app.online_cfg)


def credit_token(minute, amount_e5=100000):
    """(digits, credit micro it carries)."""
    t = build.currency_token(bytes.fromhex(KEY), "sta", "electricity",
                             tid_at(2014, 2026, 11, 23, 7, minute), amount_e5)
    return t.digits, t.value * 10


# ------------------------------------------------------------------ pieces
def test_hmac_matches_rfc_4231_and_cpython():
    assert messages.hex_mac(b"Jefe", b"what do ya want ", b"for nothing?") == (
        b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert messages.hex_mac(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - "
                       b"Hash Key First") == (
        b"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    if not IS_MICROPYTHON:
        import hashlib
        import hmac
        import os
        for n in (0, 1, 32, 63, 64, 65, 200):
            key, data = os.urandom(n), os.urandom(n * 3)
            assert messages.sha256_mac(key, data) == hmac.new(key, data, hashlib.sha256).digest()
    assert messages.equal(b"abc", b"abc") and not messages.equal(b"abc", b"abd")
    assert not messages.equal(b"abc", b"ab")


def test_online_settings_are_checked_with_the_field_named():
    assert settings.check(None) is None
    got = settings.check({"broker": "mqtt.example.net:8883", "tls": True})
    assert got == {"host": "mqtt.example.net", "port": 8883, "tls": True, "utc_offset_s": 0,
                   "reading_s": 900, "keepalive_s": 60, "backlog_bytes": 131072}
    for bad, field in (({"broker": "nohost"}, "online.broker"),
                       ({"broker": "h:0"}, "online.broker"),
                       ({"broker": "h:1", "tls": 1}, "online.tls"),
                       ({"broker": "h:1", "command_key": "00"}, "online.command_key"),
                       ({"broker": "h:1", "broker_password": "x" * 97},
                        "online.broker_password"),
                       ({"broker": "h:1", "reading_s": 5}, "online.reading_s"),
                       ({"broker": "h:1", "brokr": 1}, "online.brokr")):
        assert field in str(raises(ConfigError, settings.check, bad))


def test_verify_accepts_a_signed_command_and_refuses_each_kind():
    now = UNIX_T0

    def check(payload, last=0, clock_valid=True, pan=PAN):
        try:
            return commands.verify(payload, CMD_KEY, pan, last, now, clock_valid)
        except commands.Refusal as exc:
            return exc.code, exc.ctr

    good = signed(cmd(7, "ping"))
    assert check(good) == (7, "ping", [])
    assert check(good + b"\n") == (7, "ping", [])
    assert check(good, last=7) == ("replayed", 7)
    assert check(good, last=9) == ("replayed", 7)
    assert check(signed(cmd(8, "ping", pan="600727000000000025"))) == ("wrong-meter", 8)
    assert check(signed(cmd(8, "ping", exp=now - 1))) == ("expired", 8)
    assert check(signed(cmd(8, "ping", exp=now - 1)), clock_valid=False) == (8, "ping", [])
    assert check(signed(cmd(8, "selfdestruct"))) == ("unknown", 8)
    line, _, tag = good.partition(b"\n")
    assert check(line.replace(b"ping", b"pinG") + b"\n" + tag) == ("forged", None)
    assert check(line + b"\n" + tag.upper()) == ("forged", None)
    assert check(line + b"\n" + tag[:-1]) == ("forged", None)
    assert check(line) == ("forged", None)
    assert check(signed(cmd(7, "ping"), key=bytes(32))) == ("forged", None)
    for body in (b"not json", b'{"ctr": 1}', b'[1, 2]',
                 json.dumps(dict(cmd(1, "ping"), extra=1)).encode(),
                 json.dumps(dict(cmd(1, "ping"), ctr=True)).encode(),
                 json.dumps(dict(cmd(1, "ping"), ctr=1.5)).encode(),
                 json.dumps(dict(cmd(1, "ping"), args=[1])).encode(),
                 b"\xff\xfe{}"):          # signed, but not the JSON of docs/mqtt.md
        assert check(body + b"\n" + hex_hmac(CMD_KEY, b"prepay-cmd\n" + body)) == (
            "forged", None), body


# ------------------------------------------------------------------ the link on a meter
def test_readings_carry_the_optical_readouts_values_and_times():
    b, link = bench("online-reading")
    wire = Wire()
    link.pump(T0, wire)
    assert wire.sent == []              # a reading is due at the next quarter hour
    b.board.clock.ms += 900 * 1000
    link.pump(T0 + 900, wire)
    reading = wire.messages("reading")[0]
    assert reading["t"] == UNIX_T0 + 900 and reading["period_s"] == 900
    from obis import registers
    readout = {}
    for line in registers.readout(b.app):
        code, _, rest = line.partition("(")
        text, _, unit = rest[:-1].partition("*")
        readout[code] = [text, unit]
    assert reading["values"] == readout
    assert reading["values"]["0-0:96.1.0"] == ["SIM-E-0001", ""]
    assert reading["values"]["0-0:19.0.0"][1] == "KES"


def test_offline_messages_are_kept_and_sent_in_order_with_their_times():
    b, link = bench("online-backlog")
    app = b.app
    t = T0
    for minute in range(0, 60, 15):                 # an hour offline, a token in it
        t = T0 + 900 + minute * 60
        b.board.clock.ms = t * 1000
        if minute == 30:
            app.ui.token(t, credit_token(1)[0])
            app.apply(app.meter.state())
        assert link.pump(t, None) is None
    assert link.outbox.pending() and link.published == 0
    wire = Wire()
    link.pump(t, wire)                          # nothing new goes before the backlog
    assert wire.sent == []
    while link.outbox.pending():
        link.drain(wire, 3)
    seqs = [json.loads(p.split("\n")[0])["seq"] for _, p in wire.sent]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    readings = wire.messages("reading")
    assert [r["t"] for r in readings] == [UNIX_T0 + 900 + m * 60 for m in (0, 15, 30, 45)]
    events = wire.messages("event")
    codes = [e["code"] for e in events]
    assert "token.credit" in codes and "token.result" in codes
    result = [e for e in events if e["code"] == "token.result"][0]
    assert result["data"]["result"] == "Accept" and result["t"] == UNIX_T0 + 900 + 30 * 60
    logs = [e["data"]["log"] for e in events if "log" in e["data"]]
    assert logs == sorted(logs)
    assert not link.outbox.pending()
    # a new power-on neither resends what was handed over nor reuses a seq
    b2 = Bench(b.board.data_dir, config(online=dict(ONLINE)))
    link2 = Link(b2.app, b2.app.online_cfg)
    b2.board.clock.ms = (t + 900) * 1000
    wire2 = Wire()
    link2.pump(t + 900, wire2)
    later = [json.loads(p)["seq"] for _, p in wire2.sent]
    assert later and min(later) > max(seqs)
    assert "token.credit" not in [json.loads(p).get("code") for _, p in wire2.sent]


def test_a_failed_publish_keeps_the_message_for_later():
    b, link = bench("online-fail")
    wire = Wire()
    wire.down = True
    b.board.clock.ms = (T0 + 900) * 1000
    assert link.pump(T0 + 900, wire) is None
    assert link.outbox.pending() and wire.sent == []
    wire.down = False
    link.drain(wire, 10)
    assert [r["t"] for r in wire.messages("reading")] == [UNIX_T0 + 900]


def test_backlog_coarsens_readings_and_never_drops_an_event():
    d = tmp_dir("online-outbox")
    box = Outbox(d, 8192)
    values = json.dumps({"1-0:1.8.0": ["%08d" % 0, "kWh"], "pad": ["x" * 150, ""]}).encode()
    seq = 1
    t = 1764400000 - 1764400000 % 86400
    events = []
    for step in range(4 * 24 * 3):                  # three days of quarter hours
        box.add_reading(seq, t + step * 900, 900, values)
        newest = seq
        seq += 1
        if step % 7 == 0:
            payload = json.dumps({"seq": seq, "t": t + step * 900, "code": "alarm.low1"})
            box.add("event", payload)
            events.append(seq)
            seq += 1
        assert box.size <= 8192 or box.size - 8192 < 2000
    assert box.coarsened > 0
    kept, got_events, periods = [], [], set()
    while box.pending():
        n, kind, fields, span = box.peek()
        if kind == "R":
            kept.append(fields[:2])
            periods.add(fields[2])
            assert json.loads(bytes(box.mv[span[0]:span[1]])) == json.loads(values)
        else:
            got_events.append(json.loads(bytes(box.mv[span[0]:span[1]]))["seq"])
        box.done(n)
    assert got_events == events                     # every event, in order
    seqs = [s for s, _ in kept]
    assert seqs == sorted(seqs)
    assert 86400 in periods                         # coarsened to days in the end
    assert len(kept) < 4 * 24 and kept[-1][0] == newest     # the newest reading is kept
    last_day = kept[-1][1] // 86400
    daily = [tt // 86400 for _, tt in kept if tt // 86400 < last_day]
    assert daily and len(daily) == len(set(daily))  # older days: one reading each


def test_a_torn_line_is_skipped():
    d = tmp_dir("online-torn")
    box = Outbox(d, 8192)
    box.add("result", '{"seq": 1}\nabc')
    with open(box.path, "ab") as f:
        f.write(b"E event {\"seq\": 2")           # what a filesystem without atomic
    box = Outbox(d, 8192)               # appends could leave after a cut
    n, kind, leaf, span = box.peek()
    assert (kind, leaf) == ("E", "result")
    assert bytes(box.mv[span[0]:span[1]]) == b'{"seq": 1}\nabc'
    box.done(n)
    assert box.peek() is None and not box.pending() and box.skipped == 1


# ------------------------------------------------------------------ commands
def test_commands_run_through_the_keypads_and_the_optical_ports_calls():
    b, link = bench("online-commands")
    app = b.app
    wire = Wire()
    now = T0

    def send(n, name, *args):
        link.command(signed(cmd(n, name, args, exp=UNIX_T0 + now - T0 + 60)), False, now,
                     wire)
        return wire.results()[-1]

    assert send(1, "ping") == {"ctr": 1, "pan": PAN, "t": UNIX_T0, "code": "ok", "data": {}}
    before = app.meter.balance_micro()
    token, micro = credit_token(2)
    r = send(2, "token", token)
    assert r["code"] == "Accept" and r["data"]["credit"][1] == "KES"
    assert app.meter.balance_micro() == before + micro and micro > 0
    assert send(3, "token", token)["code"] == "Used"            # the keypad's TID rule
    assert app.meter.balance_micro() == before + micro
    assert send(4, "supply", "off")["code"] == "ok"
    assert app.meter.state() == ("off", "manual_off")
    assert send(5, "supply", "on")["code"] == "ok"
    assert app.meter.state()[0] == "on"
    assert send(6, "keep-supply", "on", str(UNIX_T0 + 3600))["code"] == "ok"
    assert app.meter.sup["keep_until"] == T0 + 3600
    assert send(7, "keep-supply", "off")["code"] == "ok"
    assert app.meter.sup["keep_until"] is None
    r = send(8, "alarm-levels", json.dumps({"low1": 99}))
    assert r["code"] == "bad-args" and "credit.alarms.low1" in r["data"]["error"]
    r = send(9, "read", "1-0:1.8.0", "0-0:19.0.0")
    assert r["code"] == "ok" and list(r["data"]["values"]) == ["1-0:1.8.0", "0-0:19.0.0"]
    assert send(10, "read", "9-9:9.9.9")["code"] == "bad-args"
    assert send(11, "clock", str(UNIX_T0 + 7200))["code"] == "ok"
    assert app.now() == T0 + 7200
    now = T0 + 7200
    assert send(12, "clock", "99999999999")["code"] == "bad-args"
    flat = json.dumps({"kind": "flat", "prices": [30000000], "standing_micro_per_day": 0})
    assert send(13, "tariff", flat, "0")["code"] == "ok"
    assert app.meter.cfg["tariff"]["pending"]["prices"] == [30000000]
    assert send(14, "tariff", "{not json", "0")["code"] == "bad-args"
    assert send(15, "supply", "sideways")["code"] == "bad-args"
    assert send(16, "token", "12345")["code"] == "bad-args"
    assert send(17, "frobnicate")["code"] == "unknown"
    details = [e[3] for e in app.meter.events.find("command")]
    assert details == ["ping", "token", "token", "supply", "supply", "keep-supply",
                       "keep-supply", "bad-args", "read", "bad-args", "clock", "bad-args",
                       "tariff", "bad-args", "bad-args", "bad-args", "unknown"]
    assert [e[4] for e in app.meter.events.find("command")] == list(range(1, 18))


def test_refused_commands_change_nothing_and_are_answered():
    b, link = bench("online-refused")
    app = b.app
    wire = Wire()
    link.command(signed(cmd(5, "supply", ["off"])), False, T0, wire)
    assert app.meter.state()[0] == "off"
    app.apply(app.meter.manual(T0, None))
    state = app.meter.state()
    for payload, code in (
            (signed(cmd(5, "supply", ["off"])), "replayed"),
            (signed(cmd(4, "supply", ["off"])), "replayed"),
            (signed(cmd(6, "supply", ["off"], exp=UNIX_T0 - 1)), "expired"),
            (signed(cmd(7, "supply", ["off"], pan="600727000000000025")), "wrong-meter"),
            (signed(cmd(8, "supply", ["off"]), key=b"k" * 32), "forged")):
        link.command(payload, False, T0, wire)
        r = wire.results()[-1]
        assert r["code"] == code and app.meter.state() == state, (code, r)
    assert wire.results()[-1] == {"ctr": None, "pan": PAN, "t": UNIX_T0, "code": "forged",
                                  "data": {}}
    link.command(signed(cmd(9, "supply", ["off"])), True, T0, wire)     # retained
    assert len(wire.results()) == 6 and app.meter.state() == state
    assert link.rec["ctr"] == 5 and link.refused == 5
    assert [e[3] for e in app.meter.events.find("command")] == [
        "supply", "replayed", "replayed", "expired", "wrong-meter", "forged", "retained"]


def test_the_counter_is_saved_before_the_command_acts():
    b, link = bench("online-counter")
    wire = Wire()
    link.command(signed(cmd(41, "ping")), False, T0, wire)
    assert b.app.store.load(RECORD)["ctr"] == 41
    b2 = Bench(b.board.data_dir, config(online=dict(ONLINE)))     # power cut, power on
    link2 = Link(b2.app, b2.app.online_cfg)
    state = b2.app.meter.state()
    link2.command(signed(cmd(41, "supply", ["off"])), False, T0, wire)
    assert wire.results()[-1]["code"] == "replayed"
    assert b2.app.meter.state() == state and state[1] != "manual_off"


def test_the_secrets_are_in_the_key_partition_only():
    b, link = bench("online-secrets")
    app = b.app
    with open(b.board.data_dir + "/meter.json") as f:
        on_file = json.load(f)["online"]
    assert on_file["command_key"] is None and on_file["broker_password"] is None
    record = app.store.load(RECORD)
    assert app.online_cfg["command_key"] == CMD_KEY
    assert app.online_cfg["broker_password"] == "pw-1"
    status = json.dumps(app.status(app.now()))
    wire = Wire()
    b.board.clock.ms = (T0 + 900) * 1000
    link.pump(T0 + 900, wire)
    link.command(signed(cmd(1, "read", ["0-0:96.1.0"])), False, T0 + 900, wire)
    out = status + json.dumps(record) + "".join(p for _, p in wire.sent)
    for secret in (ONLINE["command_key"], "pw-1"):
        assert secret not in out and secret.upper() not in out
