"""A board with a console for tests: ``prepay sim --blank`` started as a user starts it,
its console at a stable path, stopped with SIGTERM."""
import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


class BenchBoard:
    def __init__(self, tmp_path, name="board"):
        self.state = str(tmp_path / name)
        self.console = str(tmp_path / (name + ".console"))
        self.ir = str(tmp_path / (name + ".ir"))
        self.log = str(tmp_path / (name + ".log"))
        self.proc = None

    def start(self, blank=True):
        flag = "--blank" if blank else "--console"
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                [os.path.join(BIN, "prepay"), "sim", flag, "--state", self.state,
                 "--console-port", self.console, "--ir-port", self.ir],
                cwd=REPO, stdout=log, stderr=log)
        end = time.monotonic() + 60          # generous: a loaded machine starts slowly
        while time.monotonic() < end:
            if os.path.exists(self.console) and os.path.exists(self.ir):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(open(self.log).read())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

    def mpremote(self, *args, check=True):
        done = subprocess.run([os.path.join(BIN, "mpremote"), "connect", self.console]
                              + list(args), capture_output=True, text=True, timeout=60)
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done
