"""Decoder key generation (host only: needs `cryptography`) and the full vending chain."""
import json
import os

import pytest

from tokens import sts
from tokens.errors import TokenError
from tokens.keys import dkga02, dkga04, dkga04_message

HERE = os.path.dirname(__file__)
VECTORS = json.load(open(os.path.join(HERE, "vectors", "sts-public.json")))
BASE = {"93": 1993, "14": 2014, "35": 2035}
EA = {"07": "sta", "11": "misty1"}


@pytest.mark.parametrize("v", VECTORS["dkga02"], ids=lambda v: v["decoder_key"])
def test_dkga02(v):
    key = dkga02(bytes.fromhex(v["vending_key"]), v["meter_pan"], int(v["sgc"]),
                 int(v["tariff_index"]), v["krn"], v["key_type"])
    assert key.hex() == v["decoder_key"]


@pytest.mark.parametrize("v", VECTORS["dkga04"], ids=lambda v: v["decoder_key"])
def test_dkga04(v):
    args = (v["meter_pan"], int(v["sgc"]), int(v["tariff_index"]), v["krn"], v["key_type"],
            BASE[v["base_date"]], EA[v["ea"]])
    assert dkga04_message(*args).hex() == v["hmac_message_hex"]
    assert dkga04(bytes.fromhex(v["vending_key"]), *args).hex() == v["decoder_key"]


def test_vending_key_to_token_chain():
    """POS07 CTSA01 step 1: vending key -> DKGA04 decoder key -> credit token (sts.md 9)."""
    vk = bytes.fromhex("abababababababab949494949494949401234567")
    key = dkga04(vk, "600727000000000009", 201457, 1, 1, 2, 2014, "sta")
    assert key.hex() == "87f3ecbb2e46b48f"
    decoded = sts.decode("70630503470028726114", key, "sta")
    token = sts.credit_token(key, "sta", "electricity", decoded.tid, decoded.value,
                             rnd=decoded.fields["rnd"])
    assert token.digits == "70630503470028726114"


def test_bad_inputs_are_refused():
    vk = bytes(20)
    with pytest.raises(TokenError, match="check digit"):
        dkga04(vk, "600727000000000008", 1, 1, 1, 2, 2014, "sta")
    with pytest.raises(TokenError, match="base date"):
        dkga04(vk, "600727000000000009", 1, 1, 1, 2, 2000, "sta")
    with pytest.raises(TokenError, match="vending key"):
        dkga02(bytes(7), "600727000000000009", 1, 1, 1, 2)
    with pytest.raises(TokenError, match="KT"):
        dkga02(bytes(8), "600727000000000009", 1, 1, 1, 4)
