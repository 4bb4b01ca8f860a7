"""``prepay headend serve``: one worker of the head-end.

A paho client subscribes to the fleet through a shared subscription (``$share/<group>/``),
so workers started with the same group split the traffic; messages are acknowledged to the
broker only after the transaction that stores them commits (manual ack, persistent
session), so a worker that dies loses nothing: the broker sends the unacknowledged
messages again, and (PAN, seq) keeps them from being stored twice. A writer thread stores
batches (what arrived while the last one was stored, up to ``batch_max``); a housekeeping thread publishes
queued commands, expires unanswered ones, delivers new sales' tokens to online meters,
raises communication loss, checks consumption, sends notifications and reminders, and
keeps the readings' partitions.
"""
import logging
import queue
import threading
import time

from host.vending.db import begin_write
from host.vending.station import utc_now
from host.headend import anomaly, commands, delivery, mqtt, notify, store, wire

log = logging.getLogger("prepay.headend")


class Worker:
    def __init__(self, station, host, port, user, password, ca=None, group="headend", client_id=None,
                 silence_s=3600, batch_max=2000, channels=None, clock=utc_now,
                 deliver_sales=True, anomaly_every_s=3600):
        self.station, self.engine = station, station.engine
        self.host, self.port, self.ca = host, port, ca
        self.user, self.password, self.group, self.client_id = user, password, group, client_id
        self.silence_s, self.batch_max = silence_s, batch_max
        self.channels = channels if channels is not None else notify.channels()
        self.clock, self.deliver_sales, self.anomaly_every_s = clock, deliver_sales, anomaly_every_s
        self.inbox = queue.Queue()
        self.stopping = threading.Event()
        self.stats = {"readings": 0, "events": 0, "bad": 0, "batches": 0, "published": 0}
        self.errors = []
        self._threads = []

    # MQTT ------------------------------------------------------------------------------
    def _on_message(self, client, userdata, msg):
        self.inbox.put((msg.topic, msg.payload, msg.retain, utc_now(), msg.mid, msg.qos))

    def start(self):
        custody = self.station.ensure_command_root()     # unlocked before anything is received
        self._take_result = commands.result_taker(custody)
        store.ensure_partitions(self.engine, self.clock())
        self.client = mqtt.client(self.user, self.password, client_id=self.client_id, ca=self.ca,
                                  clean_start=False, session_expiry_s=86400, manual_ack=True)
        self.client.on_message = self._on_message
        acked = mqtt.subscribe_on_connect(self.client, [(f, 1) for f in wire.subscriptions(self.group)])
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        mqtt.connect(self.client, self.host, self.port)
        mqtt.wait_subscribed(acked)
        for target in (self._write_loop, self._housekeeping_loop):
            t = threading.Thread(target=self._guard(target), daemon=True, name=target.__name__)
            t.start()
            self._threads.append(t)
        return self

    def _guard(self, loop):
        def run():
            try:
                loop()
            except Exception as exc:              # recorded for the caller; the loop is gone
                log.exception("head-end %s stopped", loop.__name__)
                self.errors.append(exc)
        return run

    def stop(self):
        """Store what was received, then disconnect (unacknowledged messages stay with the broker)."""
        self.stopping.set()
        for t in self._threads:
            t.join(timeout=30)
        self.client.disconnect()
        self.client.loop_stop()

    # Ingest ------------------------------------------------------------------------------
    def _write_loop(self):
        while not self.stopping.is_set() or not self.inbox.empty():
            try:
                items = [self.inbox.get(timeout=0.2)]
            except queue.Empty:
                continue
            while len(items) < self.batch_max:      # what arrived while the last batch was stored
                try:
                    items.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            self.ingest(items)

    def ingest(self, items):
        batch = store.Batch()
        for topic, payload, retained, received_at, _, _ in items:
            batch.add(topic, payload, received_at, retained)
        for attempt in range(1000):
            try:
                with begin_write(self.engine) as conn:
                    counts = store.store(conn, batch, self.clock(), self._take_result)
                break
            except Exception:                    # the database is away: keep the batch, unacknowledged
                log.exception("storing a batch failed; retrying")
                time.sleep(min(30, 0.5 * (attempt + 1)))
        for _, _, _, _, mid, qos in items:
            if qos:
                self.client.ack(mid, qos)
        self.stats["batches"] += 1
        for k in ("readings", "events", "bad"):
            self.stats[k] += counts[k]

    # Housekeeping ----------------------------------------------------------------------------
    def _housekeeping_loop(self):
        last = {}

        def due(name, every_s):
            now_m = time.monotonic()
            if now_m - last.get(name, -1e9) >= every_s:
                last[name] = now_m
                return True
            return False
        while not self.stopping.wait(0.05):
            try:
                self._housekeeping(due)
            except Exception as exc:              # the database or the broker is away: next round
                log.exception("head-end housekeeping failed; retrying")
                self.errors.append(exc)
                self.stopping.wait(1.0)

    def _housekeeping(self, due):
        now = self.clock()
        self.publish_due(now)
        if due("second", 1.0):
            commands.expire(self.engine, now)
            if self.deliver_sales:
                delivery.deliver_new_sales(self.station, now)
            notify.dispatch(self.engine, self.channels, now)
        if due("silence", max(0.5, min(60.0, self.silence_s / 4))):
            with begin_write(self.engine) as conn:
                store.mark_silent(conn, self.silence_s, now)
        if due("reminders", 60):
            with begin_write(self.engine) as conn:
                notify.queue_reminders(conn, now)
        if due("anomaly", self.anomaly_every_s):
            with begin_write(self.engine) as conn:
                anomaly.check(conn, now)
        if due("partitions", 6 * 3600):
            store.ensure_partitions(self.engine, now)

    def publish_due(self, now):
        for cid, pan, payload in commands.claim_due(self.engine, now):
            self.client.publish(wire.topic(pan, "cmd"), payload, qos=1, retain=False)
            self.stats["published"] += 1


def run_until_stopped(worker, report=None, every_s=60):
    """Run a started worker until Ctrl-C or SIGTERM; ``report(stats)`` every ``every_s``."""
    import signal
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    try:
        while not worker.stopping.wait(every_s):
            if report:
                report(dict(worker.stats))
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
    return dict(worker.stats)
