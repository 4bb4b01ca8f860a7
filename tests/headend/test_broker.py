"""mosquitto as the head-end configures it: the password file is mosquitto's own format,
each meter may publish only under its own PAN, nobody gets in without a password, TLS
works with the CA the tests make, and the plain listener is on loopback only."""
import base64
import hashlib
import queue
import subprocess

import pytest

from host.headend import broker as config, mqtt, wire
from broker import Broker

PAN_A, PAN_B = "600727000000000009", "600727000000000017"
PW = {PAN_A: "a" * 32, PAN_B: "b" * 32, "headend": "headend password"}


@pytest.fixture
def broker(tmp_path):
    with Broker(tmp_path / "broker", meters=[(PAN_A, PW[PAN_A]), (PAN_B, PW[PAN_B])],
                people=[("headend", PW["headend"])], roles={"headend": "headend"}) as b:
        yield b


def test_password_lines_are_what_mosquitto_passwd_checks(tmp_path):
    line = config.password_line("alice", "s3cret", 101)
    user, rest = line.strip().split(":", 1)
    _, kind, iterations, salt, digest = rest.split("$")
    assert (user, kind, iterations) == ("alice", "7", "101")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac("sha512", b"s3cret", base64.b64decode(salt), 101)
    # mosquitto_passwd writes the same shape
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(tmp_path / "p"), "bob", "x"], check=True)
    assert (tmp_path / "p").read_text().split(":", 1)[1].startswith("$7$101$")


def _subscriber(b, ca=None):
    got = queue.Queue()
    c = mqtt.client("headend", PW["headend"], ca=ca)
    c.on_message = lambda client, userdata, msg: got.put((msg.topic, msg.payload))
    acked = mqtt.subscribe_on_connect(c, [("prepay/+/reading", 1)])
    mqtt.connect(c, "127.0.0.1", b.tls_port if ca else b.port)
    mqtt.wait_subscribed(acked)
    return c, got


def _publish(b, user, topic, payload, ca=None):
    c = mqtt.connect(mqtt.client(user, PW[user], ca=ca), "127.0.0.1", b.tls_port if ca else b.port)
    c.publish(topic, payload, qos=1).wait_for_publish(30)
    c.disconnect()
    c.loop_stop()


def test_a_meter_cannot_publish_as_another(broker):
    sub, got = _subscriber(broker)
    try:
        _publish(broker, PAN_A, wire.topic(PAN_B, "reading"), b"forged")    # dropped by the ACL
        _publish(broker, PAN_A, wire.topic(PAN_A, "reading"), b"own")
        assert got.get(timeout=30) == (wire.topic(PAN_A, "reading"), b"own")
        with pytest.raises(queue.Empty):
            got.get(timeout=1)
    finally:
        sub.disconnect()
        sub.loop_stop()


def test_no_password_no_entry(broker):
    with pytest.raises(mqtt.BrokerError):
        mqtt.connect(mqtt.client(PAN_A, "wrong"), "127.0.0.1", broker.port)
    with pytest.raises(mqtt.BrokerError):
        mqtt.connect(mqtt.client("stranger", PW["headend"]), "127.0.0.1", broker.port)


def test_tls_listener_with_the_ca(broker):
    sub, got = _subscriber(broker, ca=broker.certs["ca"])
    try:
        _publish(broker, PAN_B, wire.topic(PAN_B, "reading"), b"over tls", ca=broker.certs["ca"])
        assert got.get(timeout=30)[1] == b"over tls"
    finally:
        sub.disconnect()
        sub.loop_stop()


def test_plain_listener_is_loopback_only(broker):
    text = open(broker.conf).read()
    assert "listener %d 127.0.0.1\n" % broker.port in text
    assert "allow_anonymous false" in text
