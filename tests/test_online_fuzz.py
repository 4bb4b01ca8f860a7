"""Fuzzing the command parser on the real meter application, in both runtimes: random
bytes, random JSON and mutations of a correctly signed command. No exception escapes
``Link.command``; every unsigned or wrongly signed payload is answered ``forged`` and
changes nothing (state, configuration, credit, counter); signed payloads whose line 1 was
mutated get one of the documented codes and a signed answer."""
DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "800K"

import json

from dualrt import IS_MICROPYTHON
from online import messages
from test_online_units import CMD_KEY, PAN, UNIX_T0, Wire, bench, cmd, signed
from optical_kit import T0

ROUNDS = 150 if IS_MICROPYTHON else 1500
CODES = ("ok", "forged", "wrong-meter", "replayed", "expired", "unknown", "bad-args")


class Lcg:
    """The same pseudo-random bytes on both runtimes."""

    def __init__(self, seed):
        self.x = seed

    def next(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n

    def bytes(self, n):
        return bytes(self.next(256) for _ in range(n))


def mutate(rnd, data):
    for _ in range(1 + rnd.next(4)):
        op = rnd.next(3)
        at = rnd.next(len(data) + 1)
        if op == 0 and data:
            at %= len(data)
            data = data[:at] + bytes((data[at] ^ (1 << rnd.next(8)),)) + data[at + 1:]
        elif op == 1:
            data = data[:at] + rnd.bytes(1 + rnd.next(8)) + data[at:]
        else:
            data = data[:at] + data[at + 1 + rnd.next(8):]
    return data


def snapshot(app, link):
    return (json.dumps(app.meter.cfg), app.meter.state(), app.meter.balance_micro(),
            link.rec["ctr"], app.now())


def test_unsigned_and_mutated_payloads_are_forged_and_change_nothing():
    b, link = bench("online-fuzz")
    app = b.app
    wire = Wire()
    rnd = Lcg(16)
    good = [signed(cmd(1000 + i, name, args)) for i, (name, args) in enumerate((
        ("supply", ["off"]), ("token", ["12345678901234567890"]), ("clock", ["1800000000"]),
        ("keep-supply", ["on", str(UNIX_T0 + 60)]), ("ping", [])))]
    before = snapshot(app, link)
    for i in range(ROUNDS):
        kind = i % 3
        if kind == 0:
            payload = rnd.bytes(rnd.next(200))
        elif kind == 1:
            obj = {"ctr": rnd.next(10 ** 6), "pan": PAN, "exp": UNIX_T0 + rnd.next(999),
                   "cmd": ("supply", "token", "clock", "x")[rnd.next(4)],
                   "args": [str(rnd.next(99))]}
            payload = json.dumps(obj).encode() + b"\n" + rnd.bytes(64)
        else:
            payload = mutate(rnd, good[rnd.next(len(good))])
            line, _, tag = payload.partition(b"\n")
            if tag[:64] == messages.hex_mac(CMD_KEY, b"prepay-cmd\n", line):
                continue                # the mutation left line 1 and its MAC whole
        link.command(payload, False, T0, wire)
        result = wire.results()[-1]
        assert result["code"] == "forged" and result["ctr"] is None, payload
    assert snapshot(app, link) == before
    assert link.refused == len(wire.results()) > ROUNDS // 2


def test_signed_mutations_get_a_documented_answer():
    b, link = bench("online-fuzz-signed")
    wire = Wire()
    rnd = Lcg(61)
    base = [json.dumps(cmd(5000, name, args)).encode() for name, args in (
        ("supply", ["off"]), ("read", ["1-0:1.8.0"]), ("alarm-levels", ['{"low1": 1}']),
        ("tariff", ['{"kind": "flat", "prices": [1]}', "0"]), ("keep-supply", ["on", "1"]))]
    for i in range(ROUNDS // 3):
        line = mutate(rnd, base[rnd.next(len(base))]).replace(b"\n", b" ")
        link.command(line + b"\n" + messages.hex_mac(CMD_KEY, b"prepay-cmd\n", line), False,
                     T0, wire)
        assert wire.results()[-1]["code"] in CODES + ("Accept", "Old", "Used", "Format",
                                                       "CRC", "Key type", "Range",
                                                       "Mfr code", "Token lockout")
