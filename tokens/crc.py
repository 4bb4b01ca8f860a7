"""CRC-16 of STS blocks: CRC-16/MODBUS over class and 48 data bits, byte-swapped (sts.md 4.6)."""


def crc16(data):
    """CRC-16/MODBUS: reflected polynomial 0xA001, initial 0xFFFF, no final XOR. Bit by
    bit: a block is 7 or 8 bytes, and a 256-entry table would be 512 bytes of the
    meter's heap for a computation it makes once a token."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
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
