"""EA07: the STS Standard Transfer Algorithm (STA), real tables, LSB-first bits.

Blocks are ints 0 <= block < 2**64 with bit 0 the least significant bit; the key is the
64-bit decoder key as 8 bytes big-endian (docs/sts.md sections 1 and 7).

A round substitutes the 16 nibbles (S2 where the round key's bit 4i+3 is 1, else S1) and
then permutes the 64 bits; the key is never XORed in. Encryption runs 16 rounds
(sts.md 7.2), decryption undoes them (7.3).

Portable path (the meter's): the state lives in three chunks of at most 30 bits, so on an
ESP32 it stays in small ints. Each nibble sits in a 5-bit slot whose top bit receives
the round's key bit (one OR per chunk per round), so the slot value directly indexes a
table that applies the chosen S-box (or inverse) and then the permutation, giving the
three output chunks. The decryption table (3 x 512 words, 6 KB) is a bytes literal in
``tokens/sta_table.py``, which the viper core (``tokens/sta_viper.py``, the only native
code, in its own module so that this one compiles on any port) reads in place: on a
meter it stays in flash. The plain core indexes an ``array('I')`` built on first use.
The per-key data is 96 small ints.

CPython fast path (vending host): the same idea with byte-sized slots (two nibbles and
their two key bits, 10 bits) and tables of 64-bit ints, 8 look-ups per round. Built
lazily; only used when ``sys.implementation.name == "cpython"``.
"""
import sys
from array import array

from tokens.sta_table import DECRYPT as DECRYPT_TABLE  # read in place by the viper core

# Tables of docs/sts.md section 7.1 (real STA tables).
S1 = bytes((14, 10, 7, 9, 12, 3, 2, 5, 13, 0, 15, 1, 4, 8, 6, 11))
S2 = bytes((12, 8, 2, 13, 7, 6, 1, 3, 11, 5, 9, 15, 0, 4, 10, 14))
P = bytes((
    55, 42, 10, 18, 24, 21, 44, 35, 2, 22, 56, 43, 27, 58, 9, 50,
    6, 36, 12, 61, 37, 38, 53, 16, 62, 3, 7, 4, 32, 20, 63, 25,
    51, 52, 54, 33, 49, 19, 46, 29, 48, 31, 23, 30, 41, 28, 13, 5,
    40, 60, 39, 11, 15, 17, 1, 0, 57, 34, 59, 8, 47, 14, 45, 26,
))


def _inverse(table):
    out = bytearray(len(table))
    for i in range(len(table)):
        out[table[i]] = i
    return bytes(out)


INV_S1 = _inverse(S1)
INV_S2 = _inverse(S2)
INV_P = _inverse(P)

KEY_BYTES = 8
_IS_CPYTHON = sys.implementation.name == "cpython"

# ---------------------------------------------------------------------------------------
# Round keys. Encryption round r uses k_r = rotl(rotr(~DK, 12), r); nibble i of that round
# takes S2 when bit 4i+3 of k_r is 1. Bit b of k_r is NOT bit (b - r + 12) mod 64 of DK,
# read straight from the key bytes (no 64-bit int needed on the meter).
# Decryption round j undoes encryption round 15 - j.


def _check_key(key):
    if len(key) != KEY_BYTES:
        raise ValueError("an STA decoder key is 8 bytes, got %d" % len(key))


def _selects_s2(key, r, i):
    """True if nibble i of encryption round r uses S2 (inverse: inv(S2))."""
    n = (4 * i + 3 - r + 12) & 63
    return not (key[7 - (n >> 3)] >> (n & 7)) & 1


# ---------------------------------------------------------------------------------------
# Portable path: three chunks with 5-bit nibble slots.
# Chunk 0 holds nibbles 0..5 (30 bits), chunk 1 nibbles 6..10, chunk 2 nibbles 11..15.

_CHUNK = bytes((0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2))
_SLOT = bytes((0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4))


def _slot_tables(sub0, sub1, perm):
    """One array of 3 x 512: entry 512*c + 32*i + 16*keybit + v is chunk c of nibble i's
    contribution after the chosen S-box and the permutation (key slots clear)."""
    table = array("I", range(1536))  # sized from range: no temporary 6 KB buffer
    for n in range(1536):
        table[n] = 0
    for i in range(16):
        for keybit in (0, 1):
            sub = sub1 if keybit else sub0
            for v in range(16):
                s = sub[v]
                idx = 32 * i + 16 * keybit + v
                for b in range(4):
                    if (s >> b) & 1:
                        d = perm[4 * i + b]
                        n = d >> 2
                        table[512 * _CHUNK[n] + idx] |= 1 << (5 * _SLOT[n] + (d & 3))
    return table


_plain_tables = {}  # the plain core's word tables, built on first use


def _plain_table(direction):
    """``array('I')`` tables for the plain core; the meter (viper) never builds them."""
    table = _plain_tables.get(direction)
    if table is None:
        boxes = (S1, S2, P) if direction == "enc" else (INV_S1, INV_S2, INV_P)
        table = _plain_tables[direction] = _slot_tables(*boxes)
    return table

# Nibble maps for the way in (16 entries) and the way out (32, indexed by key slot | v).
# Decryption enters through S1 with key bit 0, so its first table pass (inv(S1), then the
# inverse permutation) is the bare inverse permutation; it leaves through inv(S1)/inv(S2).
_ENC_NIBBLES = bytes(range(16)) * 3
_DEC_NIBBLES = S1 + INV_S1 + INV_S2


def _masks(key, rounds):
    """Per round, the three chunk masks with a 1 in the key slot of each S2 nibble."""
    out = array("I", bytes(4 * 3 * len(rounds)))
    m = 0
    for r in rounds:
        for i in range(16):
            if _selects_s2(key, r, i):
                out[m + _CHUNK[i]] |= 1 << (5 * _SLOT[i] + 4)
        m += 3
    return out


def _portable_schedule(key):
    """17 mask triples per direction: 16 table passes, then the way out."""
    enc = _masks(key, range(16)) + array("I", bytes(12))
    # decryption: bare inverse permutation, inverse rounds 15..1 each followed by the
    # next inverse permutation, and the inverse substitution of round 0 on the way out
    dec = array("I", bytes(12)) + _masks(key, range(15, -1, -1))
    return enc, dec


def _core_plain(state, masks, table, nibbles):
    """The whole cipher on ``state`` = [bits 0..23, bits 24..43, bits 44..63], in place.

    Spread the nibbles into 5-bit slots through nibbles[0:16], run 16 table passes (OR
    in the round's key bits, look up every slot, OR the results), then gather the slots
    back through nibbles[16:48].
    """
    lo = state[0]
    mid = state[1]
    top = state[2]
    c0 = c1 = c2 = 0
    for k in range(0, 30, 5):
        c0 |= nibbles[lo & 15] << k
        lo >>= 4
    for k in range(0, 25, 5):
        c1 |= nibbles[mid & 15] << k
        mid >>= 4
        c2 |= nibbles[top & 15] << k
        top >>= 4
    c0 |= masks[0]
    c1 |= masks[1]
    c2 |= masks[2]
    m = 3
    for _ in range(16):
        a = b = c = 0
        for base in (0, 32, 64, 96, 128, 160):
            x = base + (c0 & 31)
            a |= table[x]
            b |= table[x + 512]
            c |= table[x + 1024]
            c0 >>= 5
        for base in (192, 224, 256, 288, 320):
            x = base + (c1 & 31)
            a |= table[x]
            b |= table[x + 512]
            c |= table[x + 1024]
            c1 >>= 5
        for base in (352, 384, 416, 448, 480):
            x = base + (c2 & 31)
            a |= table[x]
            b |= table[x + 512]
            c |= table[x + 1024]
            c2 >>= 5
        c0 = a | masks[m]
        c1 = b | masks[m + 1]
        c2 = c | masks[m + 2]
        m += 3
    lo = mid = top = 0
    for k in range(0, 24, 4):
        lo |= nibbles[16 + (c0 & 31)] << k
        c0 >>= 5
    for k in range(0, 20, 4):
        mid |= nibbles[16 + (c1 & 31)] << k
        c1 >>= 5
        top |= nibbles[16 + (c2 & 31)] << k
        c2 >>= 5
    state[0] = lo
    state[1] = mid
    state[2] = top


def _native_core():
    """The viper core of ``tokens/sta_viper.py``, or None where this port cannot run it:
    not MicroPython, no native emitter (the module does not compile: SyntaxError), an
    ``.mpy`` for another architecture (ValueError) or no such module (ImportError)."""
    if sys.implementation.name != "micropython":
        return None
    try:
        from tokens.sta_viper import core
    except (ImportError, SyntaxError, ValueError):
        return None
    return core


_core_native = _native_core()
_core = _core_native or _core_plain
_state = array("I", bytes(12))  # scratch; the meter decodes one token at a time


def _crypt(block, masks, table, nibbles, core):
    if block < 0 or block >> 64:
        raise ValueError("a block is a 64-bit unsigned integer")
    state = _state
    state[0] = block & 0xFFFFFF
    state[1] = (block >> 24) & 0xFFFFF
    state[2] = block >> 44
    core(state, masks, table, nibbles)
    return (state[2] << 44) | (state[1] << 24) | state[0]


_last_key = None
_last_schedule = None


def portable_schedule(key):
    """The portable per-key masks; the last key's are remembered (a meter keeps one DK)."""
    global _last_key, _last_schedule
    if key == _last_key:
        return _last_schedule
    _check_key(key)
    schedule = _portable_schedule(key)
    _last_key = bytes(key)
    _last_schedule = schedule
    return schedule


def encrypt_portable(block, key, core=None):
    """``encrypt`` through the meter's chunked path (``core``: plain or viper, for tests)."""
    return _crypt(block, portable_schedule(key)[0], _plain_table("enc"), _ENC_NIBBLES,
                  core or _core)


def decrypt_portable(block, key, core=None):
    """``decrypt`` through the meter's chunked path (``core``: plain or viper, for tests)."""
    core = core or _core
    table = DECRYPT_TABLE if core is _core_native else _plain_table("dec")
    return _crypt(block, portable_schedule(key)[1], table, _DEC_NIBBLES, core)


if _IS_CPYTHON:
    # CPython fast path (vending host). State: 128-bit int, byte j of the block in bits
    # 16j..16j+7 and the key bits of its two nibbles in bits 16j+8 and 16j+9, so one OR
    # puts a round's key in, one struct.unpack yields the 8 slot values, and each indexes
    # a 1024-entry table of ints: the two S-boxes, then the permutation, already spread
    # to slots for the next round. Tables (~40k ints) are built on first use.
    import struct

    _unpack_slots = struct.Struct("<8H").unpack
    _KEY_BITS_OF_BYTE = bytes(((b >> 3) & 1) | ((b >> 6) & 2) for b in range(256))
    _fast = {}

    def _byte_tables(boxes, perm, slots):
        """tables[j][kk << 8 | v]: byte v at byte j, nibbles through boxes[key bit], then
        perm (None: no permutation), as slots (16-bit spacing) or a plain int."""
        tables = []
        for j in range(8):
            table = []
            for idx in range(1024 if boxes[0] != boxes[1] else 256):
                sub = boxes[(idx >> 8) & 1][idx & 15] | boxes[idx >> 9][(idx >> 4) & 15] << 4
                y = 0
                for b in range(8):
                    if sub >> b & 1:
                        bit = 8 * j + b
                        y |= 1 << (perm[bit] if perm else bit)
                if slots:
                    y = sum(((y >> (8 * n)) & 255) << (16 * n) for n in range(8))
                table.append(y)
            tables.append(table)
        return tables

    def _fast_tables():
        if not _fast:
            ident = bytes(range(16))
            _fast["enc"] = _byte_tables((S1, S2), P, True)
            _fast["enc_last"] = _byte_tables((S1, S2), P, False)
            _fast["dec_first"] = _byte_tables((ident, ident), INV_P, True)
            _fast["dec"] = _byte_tables((INV_S1, INV_S2), INV_P, True)
            _fast["dec_last"] = _byte_tables((INV_S1, INV_S2), None, False)
        return _fast

    def _fast_key_schedule(key, _cache=[None, None]):
        """Round-0 offsets and every round's slot masks, in pass order; last key kept."""
        if key == _cache[0]:
            return _cache[1]
        _check_key(key)
        ones = (1 << 64) - 1
        k = int.from_bytes(key, "big") ^ ones
        k = ((k >> 12) | (k << 52)) & ones  # round 0 key
        masks = []
        slots = bytearray(16)
        for _ in range(16):
            # byte j's bits 3 and 7 become bits 8 and 9 of slot j (odd bytes of the mask)
            slots[1::2] = k.to_bytes(8, "little").translate(_KEY_BITS_OF_BYTE)
            masks.append(int.from_bytes(slots, "little"))
            k = ((k << 1) | (k >> 63)) & ones
        offsets = tuple((masks[0] >> (16 * j)) & 0x300 for j in range(8))
        schedule = (offsets, masks[1:15], masks[15], masks[15:0:-1], masks[0])
        _cache[:] = [bytes(key), schedule]
        return schedule

    def _run_fast(s, mids, final, mid, last):
        unpack = _unpack_slots
        t0, t1, t2, t3, t4, t5, t6, t7 = mid
        for m in mids:
            a, b, c, d, e, f, g, h = unpack((s | m).to_bytes(16, "little"))
            s = t0[a] | t1[b] | t2[c] | t3[d] | t4[e] | t5[f] | t6[g] | t7[h]
        t0, t1, t2, t3, t4, t5, t6, t7 = last
        a, b, c, d, e, f, g, h = unpack((s | final).to_bytes(16, "little"))
        return t0[a] | t1[b] | t2[c] | t3[d] | t4[e] | t5[f] | t6[g] | t7[h]

    def encrypt_fast(block, key):
        """``encrypt`` with byte-slot tables of ints (CPython only)."""
        if block < 0 or block >> 64:
            raise ValueError("a block is a 64-bit unsigned integer")
        tables = _fast or _fast_tables()
        o, mids, final = _fast_key_schedule(key)[:3]
        t0, t1, t2, t3, t4, t5, t6, t7 = tables["enc"]
        a, b, c, d, e, f, g, h = block.to_bytes(8, "little")
        s = (t0[o[0] | a] | t1[o[1] | b] | t2[o[2] | c] | t3[o[3] | d]
             | t4[o[4] | e] | t5[o[5] | f] | t6[o[6] | g] | t7[o[7] | h])
        return _run_fast(s, mids, final, tables["enc"], tables["enc_last"])

    def decrypt_fast(block, key):
        """``decrypt`` with byte-slot tables of ints (CPython only)."""
        if block < 0 or block >> 64:
            raise ValueError("a block is a 64-bit unsigned integer")
        tables = _fast or _fast_tables()
        mids, final = _fast_key_schedule(key)[3:]
        t0, t1, t2, t3, t4, t5, t6, t7 = tables["dec_first"]
        a, b, c, d, e, f, g, h = block.to_bytes(8, "little")
        s = t0[a] | t1[b] | t2[c] | t3[d] | t4[e] | t5[f] | t6[g] | t7[h]
        return _run_fast(s, mids, final, tables["dec"], tables["dec_last"])

    encrypt = encrypt_fast
    decrypt = decrypt_fast
else:
    encrypt = encrypt_portable
    decrypt = decrypt_portable
