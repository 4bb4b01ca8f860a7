"""A run of blocks of a flash device, seen as a device of its own: the simulator's
counterpart of an ESP32 partition (``esp32.Partition``). The simulated chip is one
device, so a power cut (``cut_after``) and the block-write counts span all its
partitions, as they do on a real chip."""
# Plain ints, not const(): the console board imports this module before its flash is
# mounted, when firmware/lib (and its const module) is not on the path yet.
_IOCTL_BLOCK_COUNT = 4
_IOCTL_BLOCK_ERASE = 6


class Partition:
    def __init__(self, dev, first_block, block_count):
        self.dev = dev
        self.first = first_block
        self.block_size = dev.block_size
        self.block_count = block_count
        reader = getattr(dev, "block_reader", None)
        reader = reader and reader(first_block, block_count)
        if reader is not None:      # reads in machine code, straight from the chip
            self.readblocks = reader

    def readblocks(self, block, buf, offset=0):
        return self.dev.readblocks(self.first + block, buf, offset)

    def writeblocks(self, block, buf, offset=None):
        return self.dev.writeblocks(self.first + block, buf, offset)

    def ioctl(self, op, arg):
        if op == _IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == _IOCTL_BLOCK_ERASE:
            return self.dev.ioctl(op, self.first + arg)
        return self.dev.ioctl(op, arg)
