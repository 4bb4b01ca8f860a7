"""Alarms reach people: a real SMTP server (aiosmtpd) and a real HTTP receiver get the
alarm a meter's event raised; a channel that fails keeps its notification pending and it
is sent when the channel is back; reminders repeat after the contact's days; an
acknowledged alarm keeps its note."""
import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from host.headend import alarms, notify
from host.vending import schema
from host.vending.db import begin_write
from host.vending.station import utc_now
from broker import free_port
from headend_kit import make_world, sim_meters, start_broker, start_fleet, start_worker, wait_for


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


class Receiver:
    """An HTTP server on loopback that keeps every JSON body POSTed to it."""

    def __init__(self, port=0):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, box
    controller.stop()


def test_an_alarm_reaches_the_smtp_server_and_the_webhook(sqlite_url, tmp_path, smtp):
    controller, box = smtp
    hook = Receiver()
    world = make_world(sqlite_url, meters=1)
    broker = start_broker(tmp_path / "broker", world)
    worker = fleet = None
    try:
        with begin_write(world.engine) as conn:
            customer = conn.execute(select(schema.customers.c.id)).scalar()
            notify.add_contact(conn, None, "email", "ops@utility.example", kinds="tamper,leak")
            notify.add_contact(conn, customer, "webhook", hook.url, kinds="*")
        channels = notify.channels(smtp=notify.Email("127.0.0.1", controller.port, "headend@utility.example"))
        worker = start_worker(world, broker, channels=channels)
        m, = sim_meters(world)
        fleet = start_fleet(world, broker, [m])
        fleet.publish_event(m.pan, "tamper.magnet", {"value": 0, "log": 1}).wait_for_publish(30)
        wait_for(lambda: box.messages and hook.received, what="the e-mail and the webhook")
        rcpt, text = box.messages[0]
        assert rcpt == ["ops@utility.example"] and "tamper on meter %s" % m.pan in text
        path, body = hook.received[0]
        assert (path, body["meter"], body["kind"], body["what"]) == ("/hook", m.pan, "tamper", "raised")
        with world.engine.connect() as conn:
            alarm = conn.execute(select(schema.alarms)).mappings().one()
        wait_for(lambda: _alarm(world, alarm["id"])["state"] == "notified", what="notified")
        with begin_write(world.engine) as conn:
            done = alarms.acknowledge(conn, alarm["id"], "sam", "technician sent", utc_now())
        assert (done["state"], done["acknowledged_by"], done["note"]) == ("acknowledged", "sam", "technician sent")
    finally:
        if fleet:
            fleet.stop()
        if worker:
            worker.stop()
        broker.stop()
        hook.stop()
        world.engine.dispose()


def _alarm(world, alarm_id):
    with world.engine.connect() as conn:
        return conn.execute(select(schema.alarms).where(schema.alarms.c.id == alarm_id)).mappings().one()


def test_a_failed_channel_keeps_the_notification_until_it_is_sent(db_url):
    world = make_world(db_url, meters=1)
    port = free_port()
    url = "http://127.0.0.1:%d/hook" % port                 # nothing listens there yet
    pan = world.pans[0]
    now = utc_now()
    try:
        with begin_write(world.engine) as conn:
            notify.add_contact(conn, None, "webhook", url, reminder_days=2)
            alarm_id = alarms.raise_alarm(conn, pan, "leak", {}, now)
            assert alarms.raise_alarm(conn, pan, "leak", {}, now) is None      # one open per meter and kind
        table = notify.channels()
        assert notify.dispatch(world.engine, table, now) == (0, 1)
        with world.engine.connect() as conn:
            row = conn.execute(select(schema.notifications)).mappings().one()
        assert row["state"] == "pending" and row["attempts"] == 1 and "ConnectError" in row["last_error"]
        assert notify.dispatch(world.engine, table, now) == (0, 0)             # not due yet
        hook = Receiver(port)
        try:
            later = now + datetime.timedelta(minutes=2)
            assert notify.dispatch(world.engine, table, later) == (1, 0)
            assert hook.received[0][1]["kind"] == "leak"
            assert _alarm(world, alarm_id)["state"] == "notified"
            # reminder days: nothing after one day, a reminder after two
            with begin_write(world.engine) as conn:
                assert notify.queue_reminders(conn, now + datetime.timedelta(days=1)) == 0
                assert notify.queue_reminders(conn, now + datetime.timedelta(days=2, minutes=1)) == 1
            assert notify.dispatch(world.engine, table, now + datetime.timedelta(days=2, minutes=2)) == (1, 0)
            assert hook.received[1][1]["what"] == "reminder"
        finally:
            hook.stop()
    finally:
        world.engine.dispose()
