"""Random and mutated frames against the optical port on the real meter application
(both runtimes): ``fuzz(bench, n, seed)`` feeds n frames, each a valid frame mutated
(bytes flipped, cut, doubled, control characters thrown in) or plain noise, at random
moments of a session, never with a right password. Returns counts; the caller checks
that nothing was written, no exception escaped and the meter kept metering."""


class Rng:
    """xorshift32: the same sequence in both runtimes (MicroPython has no random.Random)."""

    def __init__(self, seed):
        self.x = seed or 1

    def next(self):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x

    def randint(self, lo, hi):
        return lo + self.next() % (hi - lo + 1)

    def choice(self, items):
        return items[self.next() % len(items)]

from iec62056.frame import command_frame

SEEDS = (
    b"/?!\r\n", b"/?SIM-E-0001!\r\n", b"\x06050\r\n", b"\x06051\r\n", b"\x06061\r\n",
    command_frame(b"P1", b"(guess)"), command_frame(b"R1", b"1-0:1.8.0()"),
    command_frame(b"W1", b"0-0:1.0.0(261124090000)"),
    command_frame(b"W1", b"0-0:19.40.0(12345678901234567890)"),
    command_frame(b"R1", b"0-0:99.98.0(5)"), command_frame(b"B0"), command_frame(b"E2"),
)
SPECIAL = b"\x00\x01\x02\x03\x04\x06\x15/?!()*\r\n"


def mutate(rng, data):
    for _ in range(rng.randint(1, 4)):
        op = rng.randint(0, 5)
        i = rng.randint(0, len(data))
        if op == 0 and data:
            i %= len(data)
            data = data[:i] + bytes((rng.randint(0, 255),)) + data[i + 1:]
        elif op == 1:
            data = data[:i] + bytes((rng.choice(SPECIAL),)) + data[i:]
        elif op == 2:
            data = data[:i] + data[i + rng.randint(1, 8):]
        elif op == 3:
            data = data[:i] + data[:rng.randint(0, 16)] + data[i:]
        elif op == 4:
            data = data[:i] + bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 40))) \
                + data[i:]
        else:
            data += b"x" * rng.randint(0, 600)
    return data


def fuzz(bench, n, seed=1):
    rng = Rng(seed)
    sessions = 0
    for k in range(n):
        r = rng.randint(0, 9)
        if r == 0:
            frame = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 64)))
        else:
            frame = mutate(rng, SEEDS[rng.randint(0, len(SEEDS) - 1)])
        if r == 1:              # into a programming session (no password known)
            bench.talk(b"/?!\r\n", 300)
            bench.talk(b"\x06051\r\n", 300)
            sessions += 1
        bench.talk(frame, rng.choice((5, 30, 300)))
    return sessions
