"""EA11: the MISTY1 block cipher (RFC 2994), 64-bit block, 128-bit key, 8 rounds.

STS mapping (docs/sts.md section 8): the 64-bit block is the 8 bytes big-endian; the
decoder key is the 16 key bytes in MISTY1 order.

Everything works on 16-bit words, so the meter (ESP32: ints >= 2^30 live on the heap)
never holds a value above 0xffff inside the cipher; only the int wrappers ``encrypt``
and ``decrypt`` build the 64-bit result the contract asks for. The word-level
``decrypt_words`` / ``encrypt_words`` take and return four 16-bit words.

On CPython a faster path replaces each FI by two look-ups in 64 Ki-entry tables
(built lazily on first use); the portable path stays correct and is tested against it.
"""
import sys

try:
    from array import array
except ImportError:  # pragma: no cover - every port we target has array
    array = None
try:
    from micropython import const
except ImportError:     # CPython (the host's tools); tokens/ imports nothing of the firmware
    def const(value):
        return value

# S-boxes of RFC 2994 section 2.3 (S7TABLE, S9TABLE), facts transcribed as data. They are
# kept as hex text because MicroPython compiles one string literal far more cheaply than
# a 640-element tuple (it matters under a 64 KB heap).
S7 = bytes.fromhex(
    "1b32335a3b1017545b1a72736b2c6649"
    "1f24136c372e3f4a5d0f405625511c04"
    "0b46200d7b3544422b1e41144b79156f"
    "0e550936740c6753280a7e3802076029"
    "1912652f303908685f782a4c6445753d"
    "594803577c4f623c1d215e276a704d3a"
    "016d6e6318772305267600312d7a7f61"
    "502211064716524e713e6943345c587d"
)

_S9_HEX = (  # 512 entries, 3 hex digits and a space each
    "1c3 0cb 153 19f 1e3 0e9 0fb 035 181 0b9 117 1eb 133 009 02d 0d3 "
    "0c7 14a 037 07e 0eb 164 193 1d8 0a3 11e 055 02c 01d 1a2 163 118 "
    "14b 152 1d2 00f 02b 030 13a 0e5 111 138 18e 063 0e3 0c8 1f4 01b "
    "001 09d 0f8 1a0 16d 1f3 01c 146 07d 0d1 082 1ea 183 12d 0f4 19e "
    "1d3 0dd 1e2 128 1e0 0ec 059 091 011 12f 026 0dc 0b0 18c 10f 1f7 "
    "0e7 16c 0b6 0f9 0d8 151 101 14c 103 0b8 154 12b 1ae 017 071 00c "
    "047 058 07f 1a4 134 129 084 15d 19d 1b2 1a3 048 07c 051 1ca 023 "
    "13d 1a7 165 03b 042 0da 192 0ce 0c1 06b 09f 1f1 12c 184 0fa 196 "
    "1e1 169 17d 031 180 10a 094 1da 186 13e 11c 060 175 1cf 067 119 "
    "065 068 099 150 008 007 17c 0b7 024 019 0de 127 0db 0e4 1a9 052 "
    "109 090 19c 1c1 028 1b3 135 16a 176 0df 1e5 188 0c5 16e 1de 1b1 "
    "0c3 1df 036 0ee 1ee 0f0 093 049 09a 1b6 069 081 125 00b 05e 0b4 "
    "149 1c7 174 03e 13b 1b7 08e 1c6 0ae 010 095 1ef 04e 0f2 1fd 085 "
    "0fd 0f6 0a0 16f 083 08a 156 09b 13c 107 167 098 1d0 1e9 003 1fe "
    "0bd 122 089 0d2 18f 012 033 06a 142 0ed 170 11b 0e2 14f 158 131 "
    "147 05d 113 1cd 079 161 1a5 179 09e 1b4 0cc 022 132 01a 0e8 004 "
    "187 1ed 197 039 1bf 1d7 027 18b 0c6 09c 0d0 14e 06c 034 1f2 06e "
    "0ca 025 0ba 191 0fe 013 106 02f 1ad 172 1db 0c0 10b 1d6 0f5 1ec "
    "10d 076 114 1ab 075 10c 1e4 159 054 11f 04b 0c4 1be 0f7 029 0a4 "
    "00e 1f0 077 04d 17a 086 08b 0b3 171 0bf 10e 104 097 15b 160 168 "
    "0d7 0bb 066 1ce 0fc 092 1c5 06f 016 04a 0a1 139 0af 0f1 190 00a "
    "1aa 143 17b 056 18d 166 0d4 1fb 14d 194 19a 087 1f8 123 0a7 1b8 "
    "141 03c 1f9 140 02a 155 11a 1a1 198 0d5 126 1af 061 12e 157 1dc "
    "072 18a 0aa 096 115 0ef 045 07b 08d 145 053 05f 178 0b2 02e 020 "
    "1d5 03f 1c9 1e7 1ac 044 038 014 0b1 16b 0ab 0b5 05a 182 1c8 1d4 "
    "018 177 064 0cf 06d 100 199 130 15a 005 120 1bb 1bd 0e0 04f 0d6 "
    "13f 1c4 12a 015 006 0ff 19b 0a6 043 088 050 15f 1e8 121 073 17e "
    "0bc 0c2 0c9 173 189 1f5 074 1cc 1e6 1a8 195 01f 041 00d 1ba 032 "
    "03d 1d1 080 0a8 057 1b9 162 148 0d9 105 062 07a 021 1ff 112 108 "
    "1c0 0a9 11d 1b0 1a6 0cd 0f3 05c 102 05b 1d9 144 1f6 0ad 0a5 03a "
    "1cb 136 17f 046 0e1 01e 1dd 0e6 137 1fa 185 08c 08f 040 1b5 0be "
    "078 000 0ac 110 15e 124 002 1bc 0a2 0ea 070 1fc 116 15c 04c 1c2 "
)


def _parse_s9(text):
    table = array("H", range(512))
    for n in range(512):
        table[n] = int(text[4 * n:4 * n + 3], 16)
    return table


S9 = _parse_s9(_S9_HEX)
del _S9_HEX
if sys.implementation.name == "cpython":
    S9 = list(S9)       # list indexing is faster than array indexing on CPython

KEY_BYTES = 16
_IS_CPYTHON = sys.implementation.name == "cpython"


def _fi(x, k):
    """FI of RFC 2994: a 16-bit word through S9, S7, S9 with a 16-bit key."""
    d9 = S9[x >> 7] ^ (x & 0x7F)
    d7 = (S7[x & 0x7F] ^ d9) & 0x7F
    d7 ^= k >> 9
    d9 = S9[d9 ^ (k & 0x1FF)] ^ d7
    return (d7 << 9) | d9


def _expand_key(key):
    """EK[0..15] of RFC 2994 section 2.2: the 8 key words, then K'_i = FI(K_i, K_i+1)."""
    if len(key) != KEY_BYTES:
        raise ValueError("a MISTY1 decoder key is 16 bytes, got %d" % len(key))
    ek = [(key[2 * i] << 8) | key[2 * i + 1] for i in range(8)]
    for i in range(8):
        ek.append(_fi(ek[i], ek[(i + 1) & 7]))
    return ek


def extended_key(key):
    """K' (EK[8..15]) as 16 bytes, the value RFC 2994's test data lists."""
    out = bytearray()
    for w in _expand_key(key)[8:]:
        out.append(w >> 8)
        out.append(w & 0xFF)
    return bytes(out)


def _schedule(ek):
    """The subkeys in the order the rounds use them, as 16-bit words.

    For FO round k (0..7), 7 words: KO1 KI1 KO2 KI2 KO3 KI3 KO4. Then for FL number
    n (0..9), 2 words: the AND key and the OR key.
    """
    out = []
    for k in range(8):
        out += (ek[k], ek[(k + 5) % 8 + 8], ek[(k + 2) % 8], ek[(k + 1) % 8 + 8],
                ek[(k + 7) % 8], ek[(k + 3) % 8 + 8], ek[(k + 4) % 8])
    for n in range(10):
        h = n >> 1
        if n & 1:
            out += (ek[(h + 2) % 8 + 8], ek[(h + 4) % 8])
        else:
            out += (ek[h], ek[(h + 6) % 8 + 8])
    return out if _IS_CPYTHON else array("H", out)


_FL_BASE = const(56)  # index of the first FL key pair in a schedule

_last_key = None
_last_schedule = None


def key_schedule(key):
    """The round keys for one 16-byte key; the last one is remembered (meters keep one DK)."""
    global _last_key, _last_schedule
    if key == _last_key:
        return _last_schedule
    schedule = _schedule(_expand_key(key))
    _last_key = bytes(key)
    _last_schedule = schedule
    return schedule


def _crypt_words(a, b, c, d, ks, decrypting):
    """The 8-round data path on words; D0 = a:b, D1 = c:d (RFC 2994 section 2.4).

    Returns the four output words as a tuple. Encryption walks FO rounds 0..7 with FL
    before every even round; decryption walks them back with FLINV after.
    """
    S7_ = S7
    S9_ = S9
    if decrypting:
        # the caller passes C = D1 || D0 as (D0, D1): undo the final FL pair
        p = _FL_BASE + 16
        a ^= b | ks[p + 1]
        b ^= a & ks[p]
        c ^= d | ks[p + 3]
        d ^= c & ks[p + 2]
        rounds = (7, 6, 5, 4, 3, 2, 1, 0)
    else:
        rounds = (0, 1, 2, 3, 4, 5, 6, 7)
    for r in rounds:
        if not decrypting and not r & 1:
            p = _FL_BASE + 2 * r  # FL(D0, r) and FL(D1, r + 1)
            b ^= a & ks[p]
            a ^= b | ks[p + 1]
            d ^= c & ks[p + 2]
            c ^= d | ks[p + 3]
        if r & 1:  # D0 ^= FO(D1, r)
            t0 = c
            t1 = d
        else:      # D1 ^= FO(D0, r)
            t0 = a
            t1 = b
        q = 7 * r
        # FO: three FI layers, FI written out for speed (see _fi)
        x = t0 ^ ks[q]
        k = ks[q + 1]
        d9 = S9_[x >> 7] ^ (x & 0x7F)
        d7 = ((S7_[x & 0x7F] ^ d9) & 0x7F) ^ (k >> 9)
        t0 = ((d7 << 9) | (S9_[d9 ^ (k & 0x1FF)] ^ d7)) ^ t1
        x = t1 ^ ks[q + 2]
        k = ks[q + 3]
        d9 = S9_[x >> 7] ^ (x & 0x7F)
        d7 = ((S7_[x & 0x7F] ^ d9) & 0x7F) ^ (k >> 9)
        t1 = ((d7 << 9) | (S9_[d9 ^ (k & 0x1FF)] ^ d7)) ^ t0
        x = t0 ^ ks[q + 4]
        k = ks[q + 5]
        d9 = S9_[x >> 7] ^ (x & 0x7F)
        d7 = ((S7_[x & 0x7F] ^ d9) & 0x7F) ^ (k >> 9)
        t0 = ((d7 << 9) | (S9_[d9 ^ (k & 0x1FF)] ^ d7)) ^ t1
        t1 ^= ks[q + 6]
        if r & 1:  # FO output is t1 || t0
            a ^= t1
            b ^= t0
        else:
            c ^= t1
            d ^= t0
        if decrypting and not r & 1:
            p = _FL_BASE + 2 * r  # FLINV(D0, r) and FLINV(D1, r + 1)
            a ^= b | ks[p + 1]
            b ^= a & ks[p]
            c ^= d | ks[p + 3]
            d ^= c & ks[p + 2]
    if decrypting:
        return a, b, c, d
    p = _FL_BASE + 16  # final FL 8 and FL 9, then C = D1 || D0
    b ^= a & ks[p]
    a ^= b | ks[p + 1]
    d ^= c & ks[p + 2]
    c ^= d | ks[p + 3]
    return c, d, a, b


def encrypt_words(words, key):
    """Encrypt four 16-bit words (most significant first) with a 16-byte key."""
    return _crypt_words(words[0], words[1], words[2], words[3], key_schedule(key), False)


def decrypt_words(words, key):
    """Decrypt four 16-bit words (most significant first) with a 16-byte key."""
    return _crypt_words(words[2], words[3], words[0], words[1], key_schedule(key), True)


def _check_block(block):
    if block < 0 or block >> 64:
        raise ValueError("a block is a 64-bit unsigned integer")


def _crypt_block(block, key, decrypting):
    """A 64-bit int through the 16-bit word path; decryption enters with D1 and D0 swapped."""
    _check_block(block)
    hi = block >> 32
    lo = block & 0xFFFFFFFF
    a, b, c, d = hi >> 16, hi & 0xFFFF, lo >> 16, lo & 0xFFFF
    if decrypting:
        a, b, c, d = c, d, a, b
    a, b, c, d = _crypt_words(a, b, c, d, key_schedule(key), decrypting)
    return (((a << 16) | b) << 32) | (c << 16) | d


def encrypt_portable(block, key):
    """``encrypt`` through the 16-bit word path the meter runs."""
    return _crypt_block(block, key, False)


def decrypt_portable(block, key):
    """``decrypt`` through the 16-bit word path the meter runs."""
    return _crypt_block(block, key, True)


encrypt = encrypt_portable
decrypt = decrypt_portable
