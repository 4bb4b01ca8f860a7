"""STS tokens (IEC 62055-41): the codec's public face for the vending host and tools.

The meter imports ``tokens.decode`` (and ``tokens.block``) directly, so that the
builders and names never take its heap; everything else says ``from tokens import sts``.
"""
from tokens.block import (ALGORITHMS, CLASS_CREDIT, CLASS_MANAGEMENT, CLASS_NON_METER,  # noqa: F401
                          CLEAR_ALL_REGISTERS, CLEAR_CREDIT, CLEAR_TAMPER, KEY_BYTES,
                          KEY_CHANGE_1, KEY_CHANGE_2, KEY_CHANGE_3, KEY_CHANGE_4,
                          SET_MAX_POWER_LIMIT, SET_PHASE_UNBALANCE_LIMIT, SET_TARIFF_RATE,
                          SET_WATER_METER_FACTOR, UNIT_NAMES, UTILITIES, check_key, cipher,
                          encode_block, is_currency, make_block)
from tokens.build import (IssuedToken, clear_credit, clear_tamper, credit_token,  # noqa: F401
                          currency_token, extended_read, key_change, set_max_power_limit,
                          set_phase_unbalance_limit, set_tariff_rate, set_water_meter_factor,
                          test_token)
from tokens.decode import Decoded, decode  # noqa: F401
from tokens.digits import group_digits as format_digits  # noqa: F401
from tokens.errors import DecodeError, TokenError  # noqa: F401
from tokens.names import METER_TESTS, TOKEN_NAMES, describe_control  # noqa: F401
