"""Meter-side decode: 20 digits and the decoder key in, meaning out, or the IEC result.

``decode`` names the result when the token alone decides it (Format, CRC, Function,
Range); TID memory, key expiry and lockout belong to the meter's acceptance rules.
"""
from tokens.amount import decode_currency, decode_units
from tokens.block import (CLASS_CREDIT, CLASS_NON_METER, CLEAR_ALL_REGISTERS, CLEAR_CREDIT,
                          CLEAR_TAMPER, KEY_CHANGE_1, KEY_CHANGE_2, KEY_CHANGE_3, KEY_CHANGE_4,
                          SET_MAX_POWER_LIMIT, SET_PHASE_UNBALANCE_LIMIT, TID_MANAGEMENT,
                          UNIT_NAMES, UTILITIES, check_key, is_currency)
from tokens.crc import block_crc
from tokens.digits import extract_class, parse_digits, render_digits
from tokens.errors import DecodeError


class Decoded:
    """What a token means: class, subclass, plaintext block (CRC included), TID, fields."""

    def __init__(self, digits, token_class, subclass, block, tid, fields):
        self.digits = digits
        self.token_class = token_class
        self.subclass = subclass
        self.block = block
        self.tid = tid
        self.fields = fields
        self.crc_ok = True

    @property
    def name(self):
        from tokens.names import TOKEN_NAMES
        return TOKEN_NAMES.get((self.token_class, self.subclass), "reserved")

    @property
    def value(self):
        return self.fields.get("value")


def decode(token, key, algorithm):
    """Decode a token with the meter's decoder key; DecodeError names the IEC result."""
    number = parse_digits(token)
    token_class, block = extract_class(number)
    if token_class == 3:
        raise DecodeError("Format", "token class 3 does not exist")
    if token_class != CLASS_NON_METER:
        block = check_key(key, algorithm).decrypt(block, key)
    subclass = block >> 60
    if block & 0xFFFF != block_crc(token_class, block, is_currency(token_class, subclass)):
        raise DecodeError("CRC", "CRC error: the token was mistyped or is for another meter")
    data = (block >> 16) & 0xFFFFFFFFFFF
    fields, tid = _fields(token_class, subclass, data, algorithm)
    return Decoded(render_digits(number), token_class, subclass, block, tid, fields)


def _fields(token_class, subclass, data, algorithm):
    nibble = data >> 40
    value16 = data & 0xFFFF
    tid = (data >> 16) & 0xFFFFFF
    if token_class == CLASS_CREDIT:
        if subclass >= 8:
            raise DecodeError("Function", "credit subclass %d is not supported" % subclass)
        utility = UTILITIES[subclass & 3]
        if subclass >= 4:
            return {"utility": utility, "currency": True, "value": decode_currency(nibble, value16),
                    "unit": "1e-5 currency units"}, tid
        return {"utility": utility, "currency": False, "rnd": nibble,
                "value": decode_units(value16), "unit": "0.1 " + UNIT_NAMES[subclass]}, tid
    if token_class == CLASS_NON_METER:
        if subclass == 0:
            return {"control": data >> 8, "manufacturer_code": data & 0xFF, "mfr_digits": 2}, None
        if subclass == 1:
            return {"control": data >> 16, "manufacturer_code": data & 0xFFFF, "mfr_digits": 4}, None
        if subclass == 2:
            return {"value": data >> 8}, None
        raise DecodeError("Function", "class 1 subclass %d is not supported" % subclass)
    if subclass in TID_MANAGEMENT:
        fields = {"rnd": nibble}
        if subclass in (SET_MAX_POWER_LIMIT, SET_PHASE_UNBALANCE_LIMIT):
            fields["value"] = decode_units(value16)
            fields["unit"] = "W"
        elif subclass == CLEAR_CREDIT:
            if not (value16 <= 7 or value16 == CLEAR_ALL_REGISTERS):
                raise DecodeError("Range", "ClearCredit register %d does not exist" % value16)
            fields["register"] = value16
        elif subclass != CLEAR_TAMPER:
            fields["value"] = value16
        return fields, tid
    if subclass == KEY_CHANGE_1:
        return {"ken_high": nibble, "krn": (data >> 36) & 15, "rollover": (data >> 35) & 1,
                "three_tokens": (data >> 34) & 1, "kt": (data >> 32) & 3,
                "key_part": data & 0xFFFFFFFF}, None
    if subclass == KEY_CHANGE_2:
        return {"ken_low": nibble, "ti": (data >> 32) & 0xFF, "key_part": data & 0xFFFFFFFF}, None
    if subclass == KEY_CHANGE_3 and algorithm == "sta":
        return {"sgc": data >> 20}, None
    if subclass in (KEY_CHANGE_3, KEY_CHANGE_4):
        return {"sgc_part": data >> 32, "key_part": data & 0xFFFFFFFF}, None
    raise DecodeError("Function", "management subclass %d is not supported" % subclass)
