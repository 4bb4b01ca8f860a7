"""Simulated NOR flash for LittleFS, with power-cut injection.

Two block devices speak MicroPython's extended block protocol
(``readblocks(block, buf, offset)``, ``writeblocks(block, buf, offset)``,
``ioctl(op, arg)``) so ``vfs.VfsLfs2`` can mount them: ``RamFlash`` keeps the
flash in memory (a bytearray, or memory it is given: the simulator hands it its
state's image file mapped outside the heap), ``FileFlash`` in an image file it
reads and writes (when nothing maps the file).

Flash semantics are NOR: a program ANDs bits into the stored bytes, an erase
sets a whole block to 0xFF. Every program and erase counts as one block write
(``programs``, ``erases``, ``writes``), which is what wears the chip.

Power cut: ``cut_after(n)`` lets n more block writes through; from then on
every program and erase is refused with -5 (EIO), so the filesystem call in
progress fails with ``OSError(EIO)``. After a cut the device returns -5
without raising or allocating, because MicroPython may be calling it from a
file finaliser with the heap locked (docs: shared micropython.md section 8).
With ``torn=True`` the refused write lands half-way first (the first half of
a program's bytes, or the first half of an erase), like a chip losing power
mid-operation. Take what survived with ``image()`` and mount a fresh device on
it (``RamFlash(image=...)``, or ``FileFlash`` on the same path again).
"""

import sys

EIO = 5
IOCTL_BLOCK_COUNT = 4
IOCTL_BLOCK_SIZE = 5
IOCTL_BLOCK_ERASE = 6


def _and_into_plain(dst, at, src, n):
    """dst[at + i] &= src[i] for i < n: a NOR program."""
    for i in range(n):
        dst[at + i] &= src[i]


def _erase_plain(dst, at, n):
    """dst[at + i] = 0xFF for i < n: a NOR erase."""
    dst[at:at + n] = b"\xff" * n


def _copy_plain(dst, src, at, n):
    """dst[i] = src[at + i] for i < n: a read."""
    dst[:n] = memoryview(src)[at:at + n]


def _native():
    """The three as machine code (``boards/sim/blockdev_viper.py``), or the plain ones
    where this port cannot run it: not MicroPython, no native emitter (SyntaxError), an
    ``.mpy`` for another architecture (ValueError) or no such module (ImportError)."""
    if sys.implementation.name == "micropython":
        try:
            from boards.sim import blockdev_viper as v
            return v.and_into, v.erase, v.copy_from
        except (ImportError, SyntaxError, ValueError):
            pass
    return _and_into_plain, _erase_plain, _copy_plain


_and_into, _erase_into, _copy_from = _native()


def create_image(path, size, erased=b"\xff" * 256):
    """A new image file of ``size`` bytes, erased (all 0xFF), written ``erased`` at a time."""
    with open(path, "wb") as f:
        for _ in range(size // len(erased)):
            f.write(erased)


class _NorFlash:
    """Counting, cutting and the block protocol; subclasses hold the bytes."""

    def __init__(self, block_size, block_count):
        self.block_size = block_size
        self.block_count = block_count
        self.programs = 0
        self.erases = 0
        self.powered = True
        self.torn = False
        self._writes_left = -1  # -1: no cut scheduled

    @property
    def writes(self):
        """Block writes so far: programs plus erases."""
        return self.programs + self.erases

    def cut_after(self, n, torn=False):
        """Cut the power after n more block writes (n = 0: the next one fails)."""
        self._writes_left = n
        self.torn = torn

    def _may_write(self):
        """Spend one write of the budget; False once the power is gone."""
        if not self.powered:
            return False
        if self._writes_left == 0:
            self.powered = False
            return False
        if self._writes_left > 0:
            self._writes_left -= 1
        return True

    def readblocks(self, block, buf, offset=0):
        self._read(block * self.block_size + offset, buf)
        return 0

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # simple protocol: whole blocks, erase implied
            return self._write_whole_blocks(block, buf)
        address = block * self.block_size + offset
        if not self._may_write():
            if self.torn:
                self.torn = False
                self._program(address, buf, len(buf) // 2)
            return -EIO
        self._program(address, buf, len(buf))
        self.programs += 1
        return 0

    def _write_whole_blocks(self, block, buf):
        view = memoryview(buf)
        size = self.block_size
        for i in range(len(buf) // size):
            if self.ioctl(IOCTL_BLOCK_ERASE, block + i) != 0:
                return -EIO
            if self.writeblocks(block + i, view[i * size:(i + 1) * size], 0) != 0:
                return -EIO
        return 0

    def ioctl(self, op, arg):
        if op == IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == IOCTL_BLOCK_ERASE:
            if not self._may_write():
                if self.torn:
                    self.torn = False
                    self._erase(arg * self.block_size, self.block_size // 2)
                return -EIO
            self._erase(arg * self.block_size, self.block_size)
            self.erases += 1
            return 0
        return 0  # init, deinit, sync


class RamFlash(_NorFlash):
    """NOR flash in memory: ``image`` (bytes) starts it from a saved image,
    ``memory`` (a writable buffer of the device's size) is where it lives, as is:
    the simulator passes its state's image file, memory-mapped (``board.mapped_flash``)."""

    def __init__(self, block_size=4096, block_count=16, image=None, memory=None):
        _NorFlash.__init__(self, block_size, block_count)
        size = block_size * block_count
        for given in (image, memory):
            if given is not None and len(given) != size:
                raise ValueError("image is %d bytes, device is %d" % (len(given), size))
        if memory is not None:
            self.mem = memory
        elif image is not None:
            self.mem = bytearray(image)
        else:
            self.mem = bytearray(size)
            _erase_into(self.mem, 0, size)
        reader = self.block_reader(0, block_count)
        if reader is not None:
            self.readblocks = reader

    def block_reader(self, first_block, block_count):
        """``readblocks`` for a run of this chip's blocks in machine code (the frozen
        builds' ``simflash.BlockReader``; LittleFS reads about 140 times a save), or None
        on a port without it. Reads neither wear nor fail on a cut: nothing is lost."""
        try:
            from simflash import BlockReader
        except ImportError:
            return None
        size = self.block_size
        return BlockReader(memoryview(self.mem)[first_block * size:
                                                (first_block + block_count) * size], size)

    def image(self):
        """A copy of the flash contents as they are now."""
        return bytes(self.mem)

    def restore(self, image):
        """Overwrite the flash with an image of the same size (a bench helper)."""
        self.mem[:] = image

    def _read(self, address, buf):
        _copy_from(buf, self.mem, address, len(buf))

    def _program(self, address, buf, n):
        _and_into(self.mem, address, buf, n)

    def _erase(self, address, n):
        _erase_into(self.mem, address, n)


class FileFlash(_NorFlash):
    """NOR flash kept in an image file, created erased if it does not exist. Programs and
    erases go through the file in pieces of ``piece`` bytes (default: a block), the size
    of its two buffers: the simulator's small heap takes 256."""

    def __init__(self, path, block_size=4096, block_count=16, sync=True, piece=None):
        _NorFlash.__init__(self, block_size, block_count)
        self.path = path
        self.sync = sync  # flush (fsync on the Unix port) after each write; the
        # simulator turns it off: its writes still reach the OS when the process is killed
        self.piece = piece or block_size
        self._scratch = bytearray(self.piece)
        self._erased = b"\xff" * self.piece
        try:
            self._file = open(path, "r+b")
        except OSError:
            create_image(path, block_size * block_count, self._erased)
            self._file = open(path, "r+b")
        self._file.seek(0, 2)
        size = self._file.tell()
        if size != block_size * block_count:
            self._file.close()
            raise ValueError("%s is %d bytes, device is %d" % (path, size, block_size * block_count))

    def close(self):
        self._file.close()

    def image(self):
        """The flash contents as they are now (read from the file)."""
        self._file.flush()
        self._file.seek(0)
        return self._file.read()

    def _read(self, address, buf):
        self._file.seek(address)
        self._file.readinto(buf)

    def _program(self, address, buf, n):
        src = memoryview(buf)
        for start in range(0, n, self.piece):
            size = min(self.piece, n - start)
            old = memoryview(self._scratch)[:size]
            self._file.seek(address + start)
            self._file.readinto(old)
            _and_into(old, 0, src[start:start + size], size)
            self._file.seek(address + start)
            self._file.write(old)
        if self.sync:
            self._file.flush()

    def _erase(self, address, n):
        self._file.seek(address)
        for start in range(0, n, self.piece):
            self._file.write(memoryview(self._erased)[:min(self.piece, n - start)])
        if self.sync:
            self._file.flush()
