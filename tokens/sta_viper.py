"""The STA core of ``tokens/sta.py`` compiled to machine code (``@micropython.viper``).

Native code lives in this module alone: a port without the native emitter cannot
compile it (SyntaxError "invalid micropython decorator"), and an ``.mpy`` built for
another architecture does not load (ValueError). ``tokens.sta`` imports it inside
``try`` and falls back to its plain core, which gives the same blocks bit for bit.
MicroPython only; the table is ``tokens.sta_table.DECRYPT`` (or an ``array('I')``),
read in place.
"""
import micropython


@micropython.viper
def core(state: ptr32, masks: ptr32, table: ptr32, nibbles: ptr8):
    """``tokens.sta._core_plain`` as machine code; every value stays below 2^30."""
    lo = int(state[0])
    mid = int(state[1])
    top = int(state[2])
    c0 = 0
    c1 = 0
    c2 = 0
    k = 0
    while k < 30:
        c0 |= nibbles[lo & 15] << k
        lo >>= 4
        k += 5
    k = 0
    while k < 25:
        c1 |= nibbles[mid & 15] << k
        mid >>= 4
        c2 |= nibbles[top & 15] << k
        top >>= 4
        k += 5
    c0 |= masks[0]
    c1 |= masks[1]
    c2 |= masks[2]
    m = 3
    while m < 51:
        a = 0
        b = 0
        c = 0
        base = 0
        x = c0
        while base < 512:  # chunk 0 is slots 0..5, chunk 1 6..10, chunk 2 11..15
            if base == 192:
                x = c1
            elif base == 352:
                x = c2
            i = base + (x & 31)
            a |= table[i]
            b |= table[i + 512]
            c |= table[i + 1024]
            x >>= 5
            base += 32
        c0 = a | int(masks[m])
        c1 = b | int(masks[m + 1])
        c2 = c | int(masks[m + 2])
        m += 3
    lo = 0
    mid = 0
    top = 0
    k = 0
    while k < 24:
        lo |= nibbles[16 + (c0 & 31)] << k
        c0 >>= 5
        k += 4
    k = 0
    while k < 20:
        mid |= nibbles[16 + (c1 & 31)] << k
        c1 >>= 5
        top |= nibbles[16 + (c2 & 31)] << k
        c2 >>= 5
        k += 4
    state[0] = lo
    state[1] = mid
    state[2] = top
