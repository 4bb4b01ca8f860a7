"""Helpers for the head-end tests and benchmarks: a vending world, mosquitto configured
with the world's meters' broker passwords from the custody, a head-end worker, simulated
meters holding the custody's command keys (imported by name: ``conftest`` is ambiguous
when the whole suite runs)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "vending"))

HEADEND_PW = "head-end broker password"
GATEWAY_PW = "gateway broker password"


def make_world(url, meters=3):
    from vendworld import World
    from host.vending.station import utc_now
    return World(url, meters=meters, clock=utc_now)        # real time: the meters check expiry by it


def start_broker(folder, world):
    from broker import Broker
    custody = world.station.ensure_command_root()
    return Broker(folder, meters=[(p, custody.broker_password(p)) for p in world.pans],
                  people=[("headend", HEADEND_PW), ("gateway", GATEWAY_PW)],
                  roles={"headend": "headend", "gateway": "gateway"}).start()


def sim_meters(world, pans=None, **kwargs):
    from host.headend.fleet import SimMeter
    custody = world.station.ensure_command_root()
    return [SimMeter(p, custody.command_key(p), decoder_key=world.decoder_key(p), algorithm=world.meter(p)["algorithm"],
                     **kwargs) for p in (pans or world.pans)]


def start_fleet(world, broker, meters):
    from host.headend.fleet import Fleet
    custody = world.station.ensure_command_root()
    return Fleet(meters, "127.0.0.1", broker.port,
                 credentials={m.pan: custody.broker_password(m.pan) for m in meters}).start()


def start_worker(world, broker, **kwargs):
    from host.headend.service import Worker
    from host.vending.station import Station
    from vendworld import PASSPHRASE
    station = Station(world.engine, PASSPHRASE)
    kwargs.setdefault("channels", {})
    return Worker(station, "127.0.0.1", broker.port, "headend", HEADEND_PW, **kwargs).start()


def wait_for(predicate, timeout_s=60, what="condition"):
    import time
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)
