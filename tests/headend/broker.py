"""Debian's mosquitto started by the tests on free loopback ports, configured as in
production (host/headend/broker.py): password file, ACLs, TLS with a CA made here.

    with Broker(folder, meters=[(pan, password)], people=[("headend", pw)],
                roles={"headend": "headend"}) as b:
        b.port, b.tls_port, b.certs["ca"]
"""
import getpass
import os
import shutil
import socket
import subprocess
import time

from host.headend import broker as config, pki


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, folder, meters=(), people=(), roles=None, tls=True):
        self.folder = str(folder)
        self.meters, self.people, self.roles = list(meters), list(people), dict(roles or {})
        self.tls = tls
        self.proc = None

    def start(self):
        self.port = free_port()
        self.tls_port = free_port() if self.tls else None
        self.certs = pki.make(os.path.join(self.folder, "certs")) if self.tls else None
        run_as = getpass.getuser() if os.geteuid() == 0 else None
        self.conf = config.write(self.folder, self.port, self.tls_port, self.certs, self.meters, self.people,
                                 self.roles, run_as=run_as)
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"      # /usr/sbin: not on every PATH
        self.proc = subprocess.Popen([binary, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        for port in filter(None, (self.port, self.tls_port)):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("mosquitto stopped: %s %s" % (self.proc.stderr.read()[-500:], self.log()))
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("mosquitto did not listen on %d: %s" % (port, self.log()))
                    time.sleep(0.05)
        return self

    def log(self):
        try:
            with open(os.path.join(self.folder, "mosquitto.log"), encoding="utf-8", errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
