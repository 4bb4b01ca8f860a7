"""A fake ``esp32`` module: ``Partition.find`` over partitions held in RAM as NOR flash
(a program ANDs bits in, an erase sets a block to 0xFF), for building the ESP32 board
without hardware. The partition table is ``fake_table`` (label -> partition);
``fake_reset()`` gives the Prepay table's ``prepay_keys``, erased."""

BLOCK = 4096
fake_table = {}


class FakePartition:
    """The block protocol of ``esp32.Partition`` (readblocks, writeblocks, ioctl)."""

    def __init__(self, blocks):
        self.blocks = blocks
        self.mem = bytearray(b"\xff" * (BLOCK * blocks))

    def readblocks(self, block, buf, offset=0):
        start = block * BLOCK + offset
        buf[:] = self.mem[start:start + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        if offset is None:              # whole blocks, erased first
            for i in range(len(buf) // BLOCK):
                self.ioctl(6, block + i)
            offset = 0
        start = block * BLOCK + offset
        for i in range(len(buf)):
            self.mem[start + i] &= buf[i]

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return BLOCK
        if op == 6:
            self.mem[arg * BLOCK:(arg + 1) * BLOCK] = b"\xff" * BLOCK
        return 0


def fake_reset():
    fake_table.clear()
    fake_table["prepay_keys"] = FakePartition(2)


class Partition:
    TYPE_APP = 0
    TYPE_DATA = 1

    @staticmethod
    def find(type=TYPE_APP, subtype=0xFF, label=None):
        if type != Partition.TYPE_DATA:
            return []
        return [part for name, part in fake_table.items() if label in (None, name)]


fake_reset()
