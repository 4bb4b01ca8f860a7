"""CRC-16 of STS blocks: CRC-16/MODBUS over class and 48 data bits, byte-swapped (sts.md 4.6)."""


def _make_table():
    try:
        from array import array
        table = array("H", bytes(512))
    except ImportError:  # pragma: no cover - every supported runtime has array
        table = [0] * 256
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table[byte] = crc
    return table


_TABLE = _make_table()


def crc16(data):
    """CRC-16/MODBUS: reflected polynomial 0xA001, initial 0xFFFF, no final XOR."""
    crc = 0xFFFF
    table = _TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def block_crc(token_class, block, currency=False):
    """The 16-bit CRC field for a block (its own CRC bits are ignored).

    Input: class (2 bits) and block bits 63..16 as 7 bytes, most significant first;
    currency tokens (CRC_C) append the byte 0x01. The field holds the CRC byte-swapped.
    """
    data = ((token_class & 3) << 48 | block >> 16).to_bytes(7, "big")
    if currency:
        data += b"\x01"
    crc = crc16(data)
    return (crc & 0xFF) << 8 | crc >> 8
