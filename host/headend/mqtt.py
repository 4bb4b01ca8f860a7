"""paho-mqtt clients as the head-end, the fleet simulator and the tests make them: MQTT 5,
user name and password, TLS with the broker's CA when given, and a wait for CONNACK."""
import ssl
import threading
import uuid

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from host.errors import UserError


class BrokerError(UserError):
    pass


def client(user, password, client_id=None, ca=None, will=None, clean_start=True, session_expiry_s=None,
           manual_ack=False):
    """A paho client ready to connect; ``will``: (topic, payload, qos, retain);
    ``manual_ack``: QoS 1 messages are acknowledged by ``client.ack`` (after they are stored)."""
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or "%s-%s" % (user, uuid.uuid4().hex[:8]),
                    protocol=paho.MQTTv5, manual_ack=manual_ack)
    c.username_pw_set(user, password)
    if ca:
        c.tls_set(ca_certs=ca, cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if will:
        c.will_set(*will)
    c._prepay_clean_start = clean_start
    c._prepay_session_expiry_s = session_expiry_s
    return c


def connect(c, host, port, timeout_s=30, keepalive_s=60):
    """Connect and start the network thread; BrokerError unless the broker accepts."""
    from paho.mqtt.properties import Properties
    from paho.mqtt.packettypes import PacketTypes
    done = threading.Event()
    outcome = {}
    previous = c.on_connect

    def on_connect(client, userdata, flags, reason, properties):
        outcome["reason"] = reason
        done.set()
        if previous:
            previous(client, userdata, flags, reason, properties)
    c.on_connect = on_connect
    props = None
    if c._prepay_session_expiry_s:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = c._prepay_session_expiry_s
    try:
        c.connect(host, port, keepalive=keepalive_s, clean_start=c._prepay_clean_start, properties=props)
    except (OSError, ssl.SSLError) as exc:
        raise BrokerError("cannot reach the broker at %s:%d: %s" % (host, port, exc.__class__.__name__))
    c.loop_start()
    if not done.wait(timeout_s) or outcome["reason"].is_failure:
        c.loop_stop()
        raise BrokerError("the broker refused the connection: %s" % outcome.get("reason", "no answer"))
    c.on_connect = previous
    return c


def subscribe_on_connect(c, filters):
    """Subscribe to ``[(filter, qos)]`` at every (re)connection; returns an Event set when
    the broker has acknowledged the first subscription (call before ``connect``), so that
    nothing published after ``wait_subscribed`` is missed."""
    acked = threading.Event()
    previous = c.on_connect

    def on_connect(client, userdata, flags, reason, properties):
        if previous:
            previous(client, userdata, flags, reason, properties)
        if not reason.is_failure:
            client.subscribe(filters)
    c.on_connect = on_connect
    c.on_subscribe = lambda client, userdata, mid, reasons, properties: acked.set()
    return acked


def wait_subscribed(acked, timeout_s=30):
    if not acked.wait(timeout_s):
        raise BrokerError("the broker did not acknowledge the subscription")
