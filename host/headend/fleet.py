"""A fleet of simulated online meters: a faithful, lightweight publisher that speaks the
contract of docs/mqtt.md (topics, presence and last will, ``seq``, readings with the
optical readout's OBIS codes and renderings, events, signed commands checked exactly as
the contract's refusal table says, signed results), for fleets too large for the real
firmware on the simulator. Its meters keep their counters in memory only: the
power-cut-safe behaviour is the firmware's (H16m's app_mqtt), not this simulator's.

Each meter can hold its own connection as its PAN (the ACL then applies to it), or many
meters share a few connections of a ``gateway`` broker user (large fleets).
"""
import json
import random
import threading
import time

from host.headend import mqtt, wire

TID_MEMORY = 50


class SimMeter:
    """One meter's state and its answer to each command (no I/O here)."""

    def __init__(self, pan, command_key, decoder_key=None, algorithm="sta", credit_milli=20000,
                 energy_milli=0, power_w=500, clock=time.time):
        self.pan, self._key, self._decoder_key, self.algorithm = pan, command_key, decoder_key, algorithm
        self.credit_milli, self.energy_milli, self.power_w = credit_milli, energy_milli, power_w
        self.clock = clock
        self.seq = 0
        self.last_ctr = 0
        self.supply_on = True
        self.keep_supply_until = 0
        self.tids = []
        self.last_purchase_milli = 0
        self.alarm_bits = 0
        self.log = []              # (code, ctr) of every command, accepted or refused
        self.log_number = 0        # the event log's own numbering

    def __repr__(self):
        return "<SimMeter %s>" % self.pan

    def next_seq(self):
        self.seq += 1
        return self.seq

    def values(self):
        credit = self.credit_milli
        return {"0-0:96.1.1": [self.pan, ""],
                "1-0:1.8.0": ["%d.%03d" % divmod(self.energy_milli, 1000), "kWh"],
                "0-0:19.0.0": ["%s%d.%03d" % ((("-" if credit < 0 else ""),) + divmod(abs(credit), 1000)), "kWh"],
                "0-0:96.3.10": ["1" if self.supply_on else "0", ""],
                "0-0:128.3.11": ["1" if self.supply_on else "0", ""],
                "0-0:128.3.10": ["0" if self.supply_on else ("2" if credit <= 0 else "7"), ""],
                "0-0:128.40.2": ["%d.%03d" % divmod(self.last_purchase_milli, 1000), "kWh"],
                "0-0:128.97.0": ["%04X" % self.alarm_bits, ""]}

    def advance(self, seconds):
        """Use energy for ``seconds`` at ``power_w`` while the supply is on."""
        if self.supply_on:
            used = self.power_w * seconds // 3600          # thousandths of a kWh
            self.energy_milli += used
            self.credit_milli -= used
            if self.credit_milli <= 0 and self.keep_supply_until < self.clock():
                self.supply_on = False
                self.alarm_bits |= 1 << 3

    def reading(self, period_s=900):
        return json.dumps({"seq": self.next_seq(), "t": int(self.clock()), "period_s": period_s,
                           "values": self.values()}, separators=(",", ":")).encode()

    def _entry(self, value):
        """An event log entry's data (docs/mqtt.md): its value and its own log number."""
        self.log_number += 1
        return {"value": value, "log": self.log_number}

    def _token_result(self, result, token_class, subclass, amount):
        """A ``token.result`` event: like the firmware's, no log number and no TID."""
        return self.event("token.result", {"result": result, "class": token_class,
                                           "subclass": subclass, "amount": amount})

    def event(self, code, data):
        return json.dumps({"seq": self.next_seq(), "t": int(self.clock()), "code": code, "data": data},
                          separators=(",", ":")).encode()

    def command(self, payload, retained=False):
        """(result payload or None, [event payloads]) for a message on this meter's cmd topic."""
        if retained:
            self.log.append(("retained", None))
            return None, [self.event("command.retained", self._entry(0))]
        try:
            body = wire.verify(self._key, wire.CMD_DOMAIN, payload)
            if not (type(body.get("ctr")) is int and isinstance(body.get("cmd"), str)
                    and isinstance(body.get("args"), list) and type(body.get("exp")) is int):
                raise wire.WireError("not the command shape")
        except wire.WireError:
            return self._answer(None, "forged", {})
        ctr = body["ctr"]
        if body.get("pan") != self.pan:
            return self._answer(ctr, "wrong-meter", {})
        if ctr <= self.last_ctr:
            return self._answer(ctr, "replayed", {})
        if body["exp"] < self.clock():
            return self._answer(ctr, "expired", {})
        self.last_ctr = ctr                  # saved before it acts
        cmd, args = body["cmd"], body["args"]
        if cmd not in wire.COMMANDS:
            return self._answer(ctr, "unknown", {})
        try:
            code, data, events = self._act(cmd, [str(a) for a in args])
        except (ValueError, IndexError):
            return self._answer(ctr, "bad-args", {})
        return self._answer(ctr, code, data, events, cmd)

    def _answer(self, ctr, code, data, events=(), cmd=None):
        self.log.append((code, ctr))
        result = wire.signed(self._key, wire.RESULT_DOMAIN,
                             {"ctr": ctr, "pan": self.pan, "t": int(self.clock()), "code": code, "data": data})
        detail = code if code in wire.REFUSALS else cmd
        evs = [self.event("command." + detail, self._entry(ctr or 0))] + list(events)
        return result, evs

    def _act(self, cmd, args):
        if cmd == "ping":
            return "ok", {}, []
        if cmd == "supply":
            if args not in (["off"], ["on"]):
                raise ValueError
            self.supply_on = args[0] == "on" and (self.credit_milli > 0 or self.keep_supply_until >= self.clock())
            return "ok", {"supply": "on" if self.supply_on else "off"}, [self.event("supply.manual_" + args[0], self._entry(int(self.supply_on)))]
        if cmd == "keep-supply":
            self.keep_supply_until = int(args[1]) if args[0] == "on" else 0
            if args[0] not in ("on", "off"):
                raise ValueError
            return "ok", {}, []
        if cmd == "clock":
            int(args[0])
            return "ok", {}, []
        if cmd == "read":
            v = self.values()
            return "ok", {"values": {code: v.get(code, ["", ""]) for code in args}}, []
        if cmd in ("tariff", "alarm-levels"):
            if not isinstance(json.loads(args[0]), dict):
                raise ValueError
            return "ok", {}, []
        if cmd == "token":
            return self._token(args[0])
        raise ValueError

    def _token(self, digits):
        from tokens.decode import decode
        from tokens.errors import TokenError
        if self._decoder_key is None:
            return "KeyExpired", {}, []
        try:
            token = decode(digits, self._decoder_key, self.algorithm)
        except TokenError as exc:
            result = getattr(exc, "result", "Format")
            return result, {}, [self._token_result(result, None, None, None)]
        if token.token_class != 0:
            return "Function", {}, []
        if token.tid in self.tids:
            result = "Used"
        elif len(self.tids) >= TID_MEMORY and token.tid < min(self.tids):
            result = "Old"
        else:
            result = "Accept"
        if result != "Accept":
            return result, {}, [self._token_result(result, token.token_class, token.subclass, token.value)]
        self.tids = sorted(self.tids + [token.tid])[-TID_MEMORY:]
        credit = token.value * 100               # tenths of a kWh -> thousandths
        self.credit_milli += credit
        self.last_purchase_milli = credit
        if self.credit_milli > 0 and not self.supply_on:
            self.supply_on = True
            self.alarm_bits &= ~(1 << 3)
        return "Accept", {"credit_milli": self.credit_milli}, [
            self._token_result("Accept", token.token_class, token.subclass, token.value),
            self.event("token.credit", self._entry(credit))]


class Fleet:
    """Meters on the broker: per-meter connections (``credentials``: {pan: password}) or a
    gateway's (``gateway``: (user, password), ``connections`` of them)."""

    def __init__(self, meters, host, port, ca=None, credentials=None, gateway=None, connections=1):
        self.meters = {m.pan: m for m in meters}
        self.host, self.port, self.ca = host, port, ca
        self.credentials, self.gateway, self.connections = credentials, gateway, connections
        self.clients = {}          # pan -> client
        self._lock = threading.Lock()
        self.published = 0

    def start(self):
        if self.gateway:
            pans = sorted(self.meters)
            for i in range(self.connections):
                mine = pans[i::self.connections]
                c = self._connect(self.gateway[0], self.gateway[1], mine, will=None)
                for pan in mine:
                    self.clients[pan] = c
        else:
            for pan in self.meters:
                self.clients[pan] = self._connect(pan, self.credentials[pan], [pan],
                                                  will=(wire.topic(pan, "status"), b"offline", 1, True))
        for pan in self.meters:
            self.clients[pan].publish(wire.topic(pan, "status"), b"online", qos=1, retain=True)
        return self

    def _connect(self, user, password, pans, will):
        c = mqtt.client(user, password, ca=self.ca, will=will)
        c.max_inflight_messages_set(1000)

        def on_message(client, userdata, msg):
            pan, kind = wire.split_topic(msg.topic)
            meter = self.meters.get(pan)
            if kind != "cmd" or meter is None:
                return
            with self._lock:
                result, events = meter.command(msg.payload, msg.retain)
            for e in events:
                client.publish(wire.topic(pan, "event"), e, qos=1)
            if result is not None:
                client.publish(wire.topic(pan, "result"), result, qos=1)

        c.on_message = on_message
        acked = mqtt.subscribe_on_connect(c, [(wire.topic(p, "cmd"), 1) for p in pans] if len(pans) < 1000
                                          else [("prepay/+/cmd", 1)])
        mqtt.connect(c, self.host, self.port)
        mqtt.wait_subscribed(acked)
        return c

    def publish_readings(self, pans=None, period_s=900, qos=1):
        """One reading from each meter (or those named); the paho messages' info objects."""
        infos = []
        for pan in pans or self.meters:
            with self._lock:
                payload = self.meters[pan].reading(period_s)
            infos.append(self.clients[pan].publish(wire.topic(pan, "reading"), payload, qos=qos))
            self.published += 1
        return infos

    def publish_event(self, pan, code, data):
        with self._lock:
            payload = self.meters[pan].event(code, data)
        return self.clients[pan].publish(wire.topic(pan, "event"), payload, qos=1)

    def stop(self, graceful=True):
        for c in set(self.clients.values()):
            if graceful:
                c.disconnect()
                c.loop_stop()
            else:                    # as a meter losing its network: the broker sends its will
                c.loop_stop()
                c.socket().close()


def run(fleet, every_s, duration_s=None, jitter=True, report=None):
    """Publish a reading from every meter each ``every_s`` (spread over the period), for
    ``duration_s`` or until interrupted; returns (readings, seconds)."""
    pans = list(fleet.meters)
    start = time.monotonic()
    sent = 0
    step = every_s / max(1, len(pans))
    order = pans[:]
    while duration_s is None or time.monotonic() - start < duration_s:
        if jitter:
            random.shuffle(order)
        period_start = time.monotonic()
        for i, pan in enumerate(order):
            target = period_start + i * step
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            fleet.meters[pan].advance(int(every_s))
            fleet.publish_readings([pan])
            sent += 1
            if duration_s is not None and time.monotonic() - start >= duration_s:
                break
        if report:
            report(sent, time.monotonic() - start)
        rest = period_start + every_s - time.monotonic()
        if rest > 0 and (duration_s is None or time.monotonic() - start + rest < duration_s):
            time.sleep(rest)
    return sent, time.monotonic() - start


def synthetic_pan(n, iin="600727"):
    from tokens.pan import luhn_digit
    body = iin + "%011d" % n
    return body + luhn_digit(body)


def meters_for(station, count=None, pans=None, first_drn=900000000):
    """SimMeters with the custody's command keys: the ledger's meters named (or its first
    ``count``, with their decoder keys, so tokens sold to them are accepted), or, beyond the
    ledger, ``count`` synthetic PANs from ``first_drn`` (no decoder key: tokens refused)."""
    from sqlalchemy import select
    from host.vending import schema
    from host.vending.station import utc_now
    custody = station.ensure_command_root()
    with station.engine.connect() as conn:
        query = select(schema.meters).order_by(schema.meters.c.pan)
        if pans:
            query = query.where(schema.meters.c.pan.in_(pans))
        ledger = [dict(r) for r in conn.execute(query.limit(count or None)).mappings()] if (pans or count) else []
        meters = []
        for row in ledger:
            decoder = station.decoder_key(conn, row, utc_now().date())
            meters.append(SimMeter(row["pan"], custody.command_key(row["pan"]), decoder, row["algorithm"]))
    for i in range(len(meters), count or 0):
        pan = synthetic_pan(first_drn + i)
        meters.append(SimMeter(pan, custody.command_key(pan)))
    return meters


def broker_passwords(station, meters):
    custody = station.ensure_command_root()
    return {m.pan: custody.broker_password(m.pan) for m in meters}
