"""Configuration for Debian's mosquitto as the fleet's broker: the password file, the ACL
(each meter only under ``prepay/<its PAN>/...``), a TLS listener and a plain listener on
loopback only. ``prepay headend broker-config`` writes it for production; the tests start
mosquitto on it (tests/headend/broker.py).

The password file uses mosquitto's own format (PBKDF2-SHA512, ``$7$iterations$salt$hash``,
what ``mosquitto_passwd`` writes): hashing here means no password is ever on a command
line or in a clear temporary file. Meter passwords are the custody's ``broker_password``
(128 random-looking bits), so mosquitto's default 101 iterations are enough for them;
people's passwords get many more.
"""
import base64
import hashlib
import os

METER_ITERATIONS = 101
PERSON_ITERATIONS = 200_000

# What a meter may do, by mosquitto's %u (the client's user name, which is its PAN).
METER_PATTERNS = ("write prepay/%u/status", "write prepay/%u/reading", "write prepay/%u/event",
                  "write prepay/%u/result", "read prepay/%u/cmd")
# The head-end reads the fleet and writes commands; a gateway (the fleet simulator, a data
# concentrator) publishes for many meters and reads their commands.
ROLE_TOPICS = {
    "headend": ("read prepay/+/status", "read prepay/+/reading", "read prepay/+/event",
                "read prepay/+/result", "write prepay/+/cmd"),
    "gateway": ("write prepay/+/status", "write prepay/+/reading", "write prepay/+/event",
                "write prepay/+/result", "read prepay/+/cmd"),
}


def password_line(user, password, iterations=PERSON_ITERATIONS):
    if ":" in user or "\n" in user or not user:
        raise ValueError("a broker user name has no ':' or line break")
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return "%s:$7$%d$%s$%s\n" % (user, iterations, base64.b64encode(salt).decode(),
                                 base64.b64encode(digest).decode())


def acl_text(roles):
    """The ACL file; ``roles``: {user: "headend" | "gateway"}."""
    lines = ["# prepay: each meter (user name = its PAN) only under its own topic"]
    lines += ["pattern " + p for p in METER_PATTERNS]
    for user, role in sorted(roles.items()):
        lines += ["", "user " + user] + ["topic " + t for t in ROLE_TOPICS[role]]
    return "\n".join(lines) + "\n"


def conf_text(folder, plain_port, tls_port=None, certs=None, persistence=True, run_as=None):
    """mosquitto.conf: the plain listener on 127.0.0.1 only, TLS on every address.
    ``run_as``: the user mosquitto stays as when started by root (else it becomes
    ``mosquitto``, which must then own ``folder``)."""
    lines = ["per_listener_settings false", "allow_anonymous false",
             "password_file " + os.path.join(folder, "passwd"),
             "acl_file " + os.path.join(folder, "acl"),
             "max_queued_messages 100000", "max_inflight_messages 1000",
             "persistence %s" % ("true" if persistence else "false"),
             "persistence_location " + folder + os.sep,
             "log_dest file " + os.path.join(folder, "mosquitto.log"),
             "log_type error", "log_type warning", "log_type notice",
             "", "listener %d 127.0.0.1" % plain_port]
    if run_as:
        lines.insert(0, "user " + run_as)
    if tls_port:
        lines += ["", "listener %d" % tls_port, "cafile " + certs["ca"], "certfile " + certs["cert"],
                  "keyfile " + certs["key"], "tls_version tlsv1.2"]
    return "\n".join(lines) + "\n"


def write(folder, plain_port, tls_port=None, certs=None, meters=(), people=(), roles=None, run_as=None):
    """Write passwd, acl and mosquitto.conf into ``folder`` (mode 0600 files);
    ``meters``: [(pan, password)], ``people``: [(user, password)], ``roles``: {user: role}."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    lines = [password_line(pan, pw, METER_ITERATIONS) for pan, pw in meters]
    lines += [password_line(user, pw) for user, pw in people]
    files = {"passwd": "".join(lines), "acl": acl_text(roles or {}),
             "mosquitto.conf": conf_text(folder, plain_port, tls_port, certs, run_as=run_as)}
    for name, text in files.items():
        path = os.path.join(folder, name)
        fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(path + ".new", path)
    return os.path.join(folder, "mosquitto.conf")


def write_for_station(station, folder, plain_port, tls_port=None, certs=None, people=(), roles=None, run_as=None):
    """The broker's files for every meter in the ledger (not removed), each with the
    custody's ``broker_password``; how many meters."""
    from sqlalchemy import select
    from host.vending import schema
    custody = station.ensure_command_root()
    with station.engine.connect() as conn:
        pans = conn.execute(select(schema.meters.c.pan).where(schema.meters.c.status != "removed")
                            .order_by(schema.meters.c.pan)).scalars().all()
    write(folder, plain_port, tls_port, certs, [(p, custody.broker_password(p)) for p in pans], people, roles,
          run_as=run_as)
    return len(pans)
