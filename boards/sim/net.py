"""The simulator's network service (``board.network``): the host's loopback, switched
by the script (``network down`` / ``network up``: link command ``network 0|1``; the
state outlives a power cut in the launcher's world, ``PREPAY_SIM_NETWORK``).

Down means what a meter sees when its Wi-Fi drops: ``connected()`` says so and the MQTT
task closes its socket without a goodbye, so the broker publishes the meter's will.
``poll_ms`` is None: the link wakes the task (``wake="net"``) when its socket has data
(``readable``, looked at between the optical port's polls while serving in real time)
or the network comes up."""


class SimNetwork:
    poll_ms = None

    def __init__(self, up=True):
        self.up = up
        self.poller = None

    def connected(self):
        return self.up

    def watch(self, poller):
        """The MQTT task's ``select.poll`` of its socket, or None."""
        self.poller = poller

    def readable(self):
        return self.up and self.poller is not None and bool(self.poller.poll(0))
