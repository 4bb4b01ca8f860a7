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
three output chunks. The tables are three ``array('I')`` of 512 entries (6 KB); the
per-key data is 96 small ints.

CPython fast path (vending host): the same idea with byte-sized slots (two nibbles and
their two key bits, 10 bits) and tables of 64-bit ints, 8 look-ups per round. Built
lazily; only used when ``sys.implementation.name == "cpython"``.
"""
import sys
from array import array

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
ROUNDS = 16
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
    """Three arrays indexed 32*i + 16*keybit + v: nibble i's S-box then the permutation.

    Each entry is that nibble's contribution to the three output chunks, key slots clear.
    """
    tables = (array("I", bytes(4 * 512)), array("I", bytes(4 * 512)), array("I", bytes(4 * 512)))
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
                        tables[_CHUNK[n]][idx] |= 1 << (5 * _SLOT[n] + (d & 3))
    return tables


_ENC_TABLES = _slot_tables(S1, S2, P)
_DEC_TABLES = _slot_tables(INV_S1, INV_S2, INV_P)
# Slot value (keybit << 4 | v) -> inverse S-box output: the last decryption step.
_FINAL_INV = INV_S1 + INV_S2
_IDENTITY = bytes(range(16)) + bytes(range(16))


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
    enc = _masks(key, range(16))
    # Decryption: the first pass is the inverse permutation alone (mask 0, see
    # decrypt_portable), then inverse rounds 15..1 each followed by the next inverse
    # permutation, then the inverse substitution of round 0.
    dec = array("I", bytes(12)) + _masks(key, range(15, -1, -1))
    return enc, dec


def _spread(block, sub):
    """A 64-bit int as three slot chunks, each nibble mapped through ``sub``."""
    lo = block & 0xFFFFFF          # nibbles 0..5
    mid = (block >> 24) & 0xFFFFF  # nibbles 6..10
    top = block >> 44              # nibbles 11..15
    c0 = c1 = c2 = 0
    for k in range(6):
        c0 |= sub[(lo >> (4 * k)) & 15] << (5 * k)
    for k in range(5):
        c1 |= sub[(mid >> (4 * k)) & 15] << (5 * k)
        c2 |= sub[(top >> (4 * k)) & 15] << (5 * k)
    return c0, c1, c2


def _gather(c0, c1, c2, final):
    """Three slot chunks (key slots filled) back to a 64-bit int via ``final`` (32 entries)."""
    lo = 0
    for k in range(6):
        lo |= final[(c0 >> (5 * k)) & 31] << (4 * k)
    for k in range(5):
        lo |= final[(c1 >> (5 * k)) & 31] << (4 * k + 24)
    hi = 0
    for k in range(5):
        hi |= final[(c2 >> (5 * k)) & 31] << (4 * k)
    return (hi << 44) | lo


def _passes(c0, c1, c2, masks, count, tables):
    """``count`` passes of (OR in the key bits, look up every nibble, OR the results)."""
    ta, tb, tc = tables
    m = 0
    for _ in range(count):
        c0 |= masks[m]
        c1 |= masks[m + 1]
        c2 |= masks[m + 2]
        m += 3
        a = b = c = 0
        base = 0
        for _k in range(6):
            x = base + (c0 & 31)
            a |= ta[x]
            b |= tb[x]
            c |= tc[x]
            c0 >>= 5
            base += 32
        for _k in range(5):
            x = base + (c1 & 31)
            a |= ta[x]
            b |= tb[x]
            c |= tc[x]
            c1 >>= 5
            base += 32
        for _k in range(5):
            x = base + (c2 & 31)
            a |= ta[x]
            b |= tb[x]
            c |= tc[x]
            c2 >>= 5
            base += 32
        c0 = a
        c1 = b
        c2 = c
    return c0, c1, c2, m


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


def _check_block(block):
    if block < 0 or block >> 64:
        raise ValueError("a block is a 64-bit unsigned integer")


def encrypt_portable(block, key):
    """``encrypt`` through the meter's chunked path."""
    _check_block(block)
    enc = portable_schedule(key)[0]
    c0, c1, c2 = _spread(block, _IDENTITY)
    c0, c1, c2, _ = _passes(c0, c1, c2, enc, 16, _ENC_TABLES)
    return _gather(c0, c1, c2, _IDENTITY)


def decrypt_portable(block, key):
    """``decrypt`` through the meter's chunked path.

    The ciphertext's nibbles enter through S1 with key bit 0, so the first table pass
    (inv(S1) then inverse permutation) is the bare inverse permutation.
    """
    _check_block(block)
    dec = portable_schedule(key)[1]
    c0, c1, c2 = _spread(block, S1)
    c0, c1, c2, m = _passes(c0, c1, c2, dec, 16, _DEC_TABLES)
    return _gather(c0 | dec[m], c1 | dec[m + 1], c2 | dec[m + 2], _FINAL_INV)


encrypt = encrypt_portable
decrypt = decrypt_portable
