"""The MQTT task (the app's ``app_mqtt`` slot): the meter online, on the MQTT client
vendored in ``umqtt/`` and the board's network service, speaking docs/mqtt.md.

What is sent and what a command does is the ``online`` room's (``online.link``); this
module owns the connection: connect with a last will on ``prepay/<PAN>/status``
(``offline``, retained) and say ``online``; subscribe to ``prepay/<PAN>/cmd``; publish at
QoS 1; ping within the keep-alive; on any failure close the socket (the broker then
publishes the will), keep everything in the backlog and try again after 5 s doubling to
15 min, ±25 %. Every socket operation is bounded by ``_SOCKET_TIMEOUT_S``: the task shares
one thread with metering, the keypad and the display, so a broker that stops answering
costs seconds, and a meter with no network never waits for it at all.

The board's network service (``board.network``, None when it has none): ``connected()``
(Wi-Fi associated, or the simulator's ``network up``), ``poll_ms`` (how often to look at
the socket: the ESP32's Wi-Fi; None when the board wakes the task itself with
``wake="net"``: the simulator) and ``watch(poller)`` (the task's ``select.poll`` of its
socket, or None).
"""
from const import const

_SOCKET_TIMEOUT_S = const(5)
_BACKOFF_FIRST_S = const(5)
_BACKOFF_MAX_S = const(900)
_DRAIN = const(8)           # backlog messages a turn, then the other tasks run
_INBOX = const(4)           # commands held between two turns (more are not answered)
_NEVER_MS = const(86400000)
_NO_HEAP_MS = const(60000)
# free at start: the session's ~6 KB and the meter's work. Measured on frozen32 (30-day
# story, real broker): ~12.4 KB free (64K) went online and metering crashed; ~16.4 KB
# (68K) ran clean; 18 KB kept 68K offline for nothing
_HEAP_RESERVE = const(15360)


def backoff_s(failures, rand16):
    """5 s doubling to 15 min, with ``rand16`` (0..65535) spreading it ±25 %."""
    base = _BACKOFF_FIRST_S << (failures if failures < 8 else 8)
    if base > _BACKOFF_MAX_S:
        base = _BACKOFF_MAX_S
    return base + base * (rand16 - 32768) // 131072


def _rand16():
    import os
    r = os.urandom(2)
    return r[0] << 8 | r[1]


class Session:
    def __init__(self, app, cfg, net):
        from online.link import Link
        self.app = app
        self.cfg = cfg
        self.net = net
        self.link = Link(app, cfg)
        self.topic = "prepay/%s/" % self.link.pan
        self.client = None
        self.poller = None
        self.failures = 0
        self.retry_at = 0
        self.last_out = 0
        self.inbox = []
        self.connects = 0
        self.memory_errors = 0

    def state(self):
        """For the status: no secret, no socket."""
        link = self.link
        return {"connected": self.client is not None, "connects": self.connects,
                "failures": self.failures, "retry_at": self.retry_at,
                "memory_errors": self.memory_errors,
                "published": link.published, "refused": link.refused,
                "backlog_bytes": link.outbox.size - link.outbox.sent,
                "coarsened": link.outbox.coarsened, "last_ctr": link.rec["ctr"]}

    # ------------------------------------------------------------ the connection
    def _received(self, topic, msg):
        if len(self.inbox) < _INBOX:
            self.inbox.append((msg, self.client.retained))

    def connect(self, now):
        from umqtt.simple import MQTTClient
        cfg = self.cfg
        if cfg["tls"]:      # umqtt 1.3.4 imports ussl, which MicroPython 1.22+ calls ssl
            import sys
            if "ussl" not in sys.modules:
                import ssl
                sys.modules["ussl"] = ssl
        pan = self.link.pan
        password = cfg["broker_password"]
        c = MQTTClient(pan, cfg["host"], cfg["port"], user=pan if password else None,
                       password=password, keepalive=cfg["keepalive_s"], ssl=cfg["tls"],
                       ssl_params={"server_hostname": cfg["host"]})
        c.timeout = _SOCKET_TIMEOUT_S
        c.set_last_will(self.topic + "status", b"offline", True, 1)
        c.set_callback(self._received)
        self.client = c
        try:
            c.connect()
            c.subscribe(self.topic + "cmd", 1)
            c.publish(self.topic + "status", b"online", True, 1)
        except Exception:  # noqa: BLE001 - refused, timed out, garbage: try again later
            self.drop(now)
            return
        import select
        self.poller = select.poll()
        self.poller.register(c.sock, select.POLLIN)
        if self.net is not None:
            self.net.watch(self.poller)
        self.failures = 0
        self.connects += 1
        self.last_out = now

    def drop(self, now):
        """Close without DISCONNECT (the broker publishes the will); retry later."""
        c = self.client
        self.client = None
        self.poller = None
        if self.net is not None:
            self.net.watch(None)
        if c is not None and c.sock is not None:
            try:
                c.sock.close()
            except Exception:  # noqa: BLE001 - closing a broken socket
                pass
        self.retry_at = now + backoff_s(self.failures, _rand16())
        self.failures += 1

    def short_of_heap(self, now):
        """A MemoryError in a turn: the connection goes (its buffers with it); what was
        not acknowledged is in the backlog or is sent again, with its seq, later."""
        self.memory_errors += 1
        self.inbox = []
        if self.client is not None:
            self.drop(now)

    def publish(self, leaf, payload):
        try:
            self.client.publish(self.topic + leaf, payload, False, 1)
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - umqtt asserts on a bad answer
            raise OSError(str(exc))
        self.last_out = self.app.now()

    # ------------------------------------------------------------ one turn
    def step(self, now):
        """Connect, hand over, receive, drain, ping as due; returns ms to sleep."""
        net = self.net
        up = net is not None and net.connected()
        if self.client is not None and not up:
            self.drop(now)
        if self.client is None and up and now >= self.retry_at:
            self.connect(now)
        link = self.link
        send = link.pump(now, self.publish if self.client is not None else None)
        if self.client is not None and send is not None:
            send = self._receive(now, send)
        if send is not None and link.outbox.pending():
            send = link.drain(send, _DRAIN)
        if self.client is not None and send is not None \
                and now - self.last_out >= self.cfg["keepalive_s"] // 2:
            try:
                self.client.ping()
                self.last_out = now
            except Exception:  # noqa: BLE001
                send = None
        if self.client is not None and send is None:
            self.drop(now)
        return self._sleep_ms(now, up)

    def _receive(self, now, send):
        try:
            for _ in range(_INBOX):
                if not self.poller.poll(0):
                    break
                self.client.check_msg()
        except Exception:  # noqa: BLE001 - the broker went away or sent garbage
            send = None
        while self.inbox:
            payload, retained = self.inbox.pop(0)
            send = self.link.command(payload, retained, now, send)
        return send

    def _sleep_ms(self, now, up):
        ms = self.link.due_s(now) * 1000
        net = self.net
        if self.client is not None:
            if self.link.outbox.pending():
                return 0
            ping = (self.last_out + self.cfg["keepalive_s"] // 2 - now) * 1000
            ms = min(ms, ping if ping > 0 else 0)
        elif up:
            wait = (self.retry_at - now) * 1000
            ms = min(ms, wait if wait > 0 else 0)
        if net is not None and net.poll_ms is not None:
            ms = min(ms, net.poll_ms)
        return ms


def heap_to_spare(app):
    """Whether the heap has room for the session and still ``_HEAP_RESERVE`` for the
    meter's own work: a meter whose heap is too small stays offline (event ``fault``
    ``online_heap`` with the free bytes) rather than starve metering and tokens. Asked
    once, at start: the heap only fills up from there."""
    import gc
    free = getattr(gc, "mem_free", None)
    if free is None:
        return True
    gc.collect()
    n = free()
    if n >= _HEAP_RESERVE:
        return True
    app.meter.events.add(app.now(), "fault", "online_heap", n)
    app.meter.events.save(app.store)
    return False


def load_code():
    """What an online meter runs every quarter hour, imported at once while the heap is
    young, so no module lands later between a month's records (a meter that is not
    online imports none of it; the command room comes with the first command)."""
    import select  # noqa: F401
    import obis.registers  # noqa: F401
    import online.link  # noqa: F401
    import umqtt.simple  # noqa: F401


async def task(app, sleep):
    """The session is made once (a restart after a crash keeps it and its frame). Short
    of heap, the task lets go of its connection and waits, instead of crashing every
    second: a crash is a saved event, and the other tasks need that heap to meter."""
    cfg = app.online_cfg
    if cfg is None or "pan" not in app.identity or not heap_to_spare(app):
        while True:                 # not an online meter, or metering needs the heap
            await sleep(_NEVER_MS, True)
    while app.online is None:
        try:
            load_code()
            app.online = Session(app, cfg, getattr(app.board, "network", None))
        except MemoryError:
            await sleep(_NO_HEAP_MS, True)
    session = app.online
    while True:
        try:
            ms = session.step(app.now())
        except MemoryError:
            session.short_of_heap(app.now())
            ms = _NO_HEAP_MS
        await sleep(ms, False, "net")
