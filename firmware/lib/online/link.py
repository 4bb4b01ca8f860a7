"""The meter's side of the MQTT conversation, without the socket (``app_mqtt`` owns
that): what is due to be published, in order, and what a command does.

``pump(now, send)`` collects what happened since the last call (a reading when one is
due, new event log entries, new token results) and hands each to ``send(leaf, payload)``
(which publishes on ``prepay/<PAN>/<leaf>`` at QoS 1 and raises OSError when it cannot),
or to the backlog while ``send`` is None, failed, or the backlog still holds older
messages. ``drain(send, n)`` publishes up to ``n`` backlog messages, oldest first.
``command(payload, retained, now)`` verifies and runs one command and returns its signed
result.

Record ``online`` in the store: ``seq`` (the first number not reserved: numbers are
reserved 64 at a time, docs/mqtt.md), ``ctr`` (the last command counter accepted), ``log``
(the event log's number last handed over: the log is saved before its entries are sent,
so a power cut cannot renumber an event the head-end has).
"""
from const import const
from online import messages
from online.outbox import Outbox

RECORD = "online"
_RESERVE = const(64)


class Link:
    def __init__(self, app, cfg):
        self.app = app
        self.cfg = cfg
        self.pan = app.identity["pan"]
        self.key = cfg["command_key"]           # bytes, or None: commands all forged
        m = app.meter
        rec = app.store.load(RECORD)
        if rec is None or rec["log"] > m.events.seq:     # new, or a store put back
            rec = {"seq": rec["seq"] if rec else 1, "ctr": rec["ctr"] if rec else 0,
                   "log": m.events.seq}
        self.rec = rec
        self.seq = rec["seq"]
        self.outbox = Outbox(app.board.data_dir, cfg["backlog_bytes"])   # and its frame
        self.token_seen = app.acceptor.last()
        period = cfg["reading_s"]
        self.next_reading = (app.now() // period + 1) * period
        self.published = 0
        self.refused = 0

    # ---------------------------------------------------------------- meter -> head-end
    def _next_seq(self):
        seq = self.seq
        self.seq += 1
        if self.seq >= self.rec["seq"]:
            self.rec["seq"] = self.seq + _RESERVE
            self._save()
        return seq

    def _save(self):
        self.app.store.save(RECORD, self.rec)

    def unix(self, meter_s):
        return messages.unix(meter_s, self.cfg)

    def due_s(self, now):
        """Seconds until the next reading is due."""
        return self.next_reading - now if self.next_reading > now else 0

    def pump(self, now, send):
        """Hand over what is due; returns ``send``, or None once it has failed."""
        app = self.app
        if now >= self.next_reading:
            period = self.cfg["reading_s"]
            self.next_reading = (now // period + 1) * period
            box = self.outbox
            if box.size + len(box.buf) > box.limit:
                box.coarsen()           # now: coarsening reads lines through the frame
            span = messages.write_values(box, app)
            seq = self._next_seq()
            t = self.unix(now)
            send = self._hand(send, "reading",
                              lambda: messages.reading(box, seq, t, period, span),
                              lambda: box.add_reading(seq, t, period, box.mv[span[0]:span[1]]))
        events = app.meter.events
        if events.seq > self.rec["log"]:
            if events.dirty:
                events.save(app.store)      # numbered for good before anyone sees them
            for entry in events.entries():
                if entry[0] > self.rec["log"]:
                    send = self._event(send, messages.event(self._next_seq(),
                                                            self.unix(entry[1]), entry))
            self.rec["log"] = events.seq
            self._save()
        for entry in self._new_tokens():
            send = self._event(send, messages.token_result(self._next_seq(),
                                                           self.unix(entry[0]), entry))
        return send

    def _new_tokens(self):
        history = self.app.acceptor.rec["history"]
        if not history or history[-1] == self.token_seen:
            return ()
        start = 0
        for i in range(len(history) - 1, -1, -1):
            if history[i] == self.token_seen:
                start = i + 1
                break
        self.token_seen = history[-1]
        return history[start:]

    def _event(self, send, payload, leaf="event"):
        return self._hand(send, leaf, lambda: payload, lambda: self.outbox.add(leaf, payload))

    def _hand(self, send, leaf, payload, keep):
        if send is not None and not self.outbox.pending():
            try:
                send(leaf, payload())
                self.published += 1
                return send
            except OSError:
                send = None
        keep()
        return send

    def drain(self, send, most):
        """Publish up to ``most`` backlog messages; returns ``send`` or None on failure."""
        box = self.outbox
        for _ in range(most):
            item = box.peek()
            if item is None:
                break
            n, kind, fields, span = item
            try:
                if kind == "R":
                    seq, t, period = fields
                    send("reading", messages.reading(box, seq, t, period, span))
                else:
                    send(fields, box.mv[span[0]:span[1]])
            except OSError:
                return None
            box.done(n)
            self.published += 1
        return send

    # ---------------------------------------------------------------- head-end -> meter
    def command(self, payload, retained, now, send):
        """Verify and run one command; its result goes out through ``send`` (or the
        backlog). Returns ``send`` as ``pump`` does."""
        from online.commands import Refusal, run, verify
        app = self.app
        events = app.meter.events
        if retained:                    # never acted on, never answered (docs/mqtt.md)
            events.add(now, "command", "retained", 0)
            events.save(app.store)
            return send
        key = self.key or b""
        ctr = None
        try:
            ctr, cmd, args = verify(payload, key, self.pan, self.rec["ctr"], self.unix(now),
                                    app.meter.clock_ok)
            self.rec["ctr"] = ctr       # before it acts: a cut cannot replay it
            self._save()
        except Refusal as exc:
            ctr = exc.ctr
            code, data, detail = exc.code, "{}", exc.code
            if code == "unknown":
                self.rec["ctr"] = ctr
                self._save()
        else:
            detail = cmd
            try:
                code, data = run(app, self.cfg, cmd, args, now)
            except Refusal as exc:
                code, data = exc.code, '{"error": %s}' % _quoted(exc.detail)
            except Exception as exc:  # noqa: BLE001 - a fault in a rule: refused, logged
                code, data = "bad-args", '{"error": "not run: %s"}' % type(exc).__name__
            if code == "bad-args":
                detail = code
        if detail == code:
            self.refused += 1
        events.add(now, "command", detail, ctr or 0)
        events.save(app.store)
        result = messages.result(key, None if code == "forged" else ctr, self.pan,
                                 self.unix(app.now()), code, data)
        return self._event(send, result.decode(), "result")


def _quoted(text):
    import json
    return json.dumps(text or "")
