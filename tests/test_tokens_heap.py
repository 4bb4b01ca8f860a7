"""Meter-side decode in the smallest heap we promise: micropython -X heapsize=64K.

The meter imports tokens.decode, not the tokens.sts facade with the builders."""
DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "64K"

import gc

from tokens.decode import decode

STA_KEY = b"\x87\xf3\xec\xbb\x2e\x46\xb4\x8f"
MISTY1_KEY = bytes(int("daa892189d08e738dfded73924c87f32"[i:i + 2], 16) for i in range(0, 32, 2))


def test_sta_decode_in_64k():
    gc.collect()
    for _ in range(50):
        d = decode("7063 0503 4700 2872 6114", STA_KEY, "sta")
    assert d.token_class == 0 and d.subclass == 0 and d.value == 1


def test_misty1_decode_in_64k():
    gc.collect()
    for _ in range(50):
        d = decode("06094571069413075467", MISTY1_KEY, "misty1")
    assert (d.token_class, d.subclass, d.tid, d.value) == (0, 2, 490, 1)
