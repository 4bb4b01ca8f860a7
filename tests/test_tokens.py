"""The token codec against published STS vectors, in both runtimes (tokens/ runs on the meter)."""
DUAL_RUNTIME = True
MICROPYTHON_HEAPSIZE = "2M"     # the vector file is test data; small-heap decode: test_tokens_heap.py

from dualrt import load_json, raises
from tokens import sts
from tokens.amount import decode_currency, decode_units, encode_currency, encode_units
from tokens.crc import crc16
from tokens.digits import extract_class, group_digits, insert_class, parse_digits, render_digits
from tokens.errors import DecodeError, TokenError
from tokens.pan import validate_pan
from tokens.tid import next_tid, tid_at, tid_time

VECTORS = load_json("vectors/sts-public.json")
ALG = {"STA": "sta", "MISTY1": "misty1"}


def h(text):
    return int(text, 16)


def key_of(text):
    return bytes(int(text[i:i + 2], 16) for i in range(0, len(text), 2))


def issue_time(text):
    date, clock = text.split(" ")
    y, mo, d = date.split("-")
    hh, mi = clock.split(":")
    return int(y), int(mo), int(d), int(hh), int(mi)


def test_crc16_vectors():
    for v in VECTORS["crc16"]:
        data = key_of(v["crc_input_7_bytes_hex"])
        crc = crc16(data)
        assert crc == h(v["crc_modbus_raw"])
        assert (crc & 0xFF) << 8 | crc >> 8 == h(v["crc_field_in_block"])


def test_amount_vectors():
    for v in VECTORS["transfer_amount_16bit"]:
        field, carried = encode_units(v["amount_units_0p1"])
        assert field == h(v["field_hex"]), v
        assert carried == v["decoded_units"]
        assert field >> 14 == v["exponent"] and field & 0x3FFF == v["mantissa"]


def test_amount_refuses_what_no_token_carries():
    raises(TokenError, encode_units, 18201625)
    raises(TokenError, encode_units, -1)
    assert encode_units(18201624) == (0xFFFF, 18201624)


def test_currency_rounds_towards_plus_infinity():
    assert encode_currency(100000)[2] == 100004
    assert encode_currency(-100000)[2] == -99994
    for amount in (0, 1, -1, 16383, 16384, -16385, 10 ** 9 + 7, -(10 ** 12) - 3):
        nibble, field, carried = encode_currency(amount)
        assert carried >= amount
        assert decode_currency(nibble, field) == carried


def test_digits_keep_leading_zeros_and_accept_grouping():
    assert render_digits(66562869333031750) == "00066562869333031750"
    assert parse_digits("0006 6562 8693 3303 1750") == 66562869333031750
    assert parse_digits("0006-6562-8693-3303-1750") == 66562869333031750
    assert group_digits("00066562869333031750") == "0006 6562 8693 3303 1750"


def test_digits_refuse_bad_input_with_format():
    for bad in ("1234", "1234567890123456789", "123456789012345678901", "1234567890123456789x",
                "73786976294838206464", ""):
        assert raises(DecodeError, parse_digits, bad).result == "Format"
    parse_digits("73786976294838206463")     # 2^66 - 1 is the largest


def test_transposition_round_trip():
    for block in (0, (1 << 64) - 1, 0x1234567890ABCDEF, 3 << 27, 1 << 28):
        for token_class in (0, 1, 2, 3):
            assert extract_class(insert_class(block, token_class)) == (token_class, block)


def check_token_vector(v, algorithm):
    key = key_of(v["decoder_key"])
    decoded = sts.decode(v["token20"], key, algorithm)
    assert decoded.block == h(v["plaintext_block"]), v["test"]
    assert decoded.token_class == v["token_class"] == v["fields"]["class"]
    assert decoded.subclass == v["fields"]["subclass"]
    assert decoded.tid == v["fields"]["tid"]
    assert sts.encode_block(v["token_class"], decoded.block, key, algorithm) == v["token20"]


def test_ea07_vectors_decode_and_encode():
    for v in VECTORS["ea07_tokens"]:
        check_token_vector(v, "sta")


def test_ea11_vectors_decode_and_encode():
    for v in VECTORS["ea11_tokens"]:
        check_token_vector(v, "misty1")


def build_from_fields(v, algorithm):
    """Rebuild a vector's token with the high-level builders from its stated fields."""
    inputs = v.get("inputs") or {}
    fields = v["fields"]
    key = key_of(v["decoder_key"])
    tid, subclass, nibble = fields["tid"], fields["subclass"], fields["rnd_or_SE"]
    value16 = h(fields["value16_hex"])
    if "issue" in inputs:
        assert tid_at(inputs["base_date"], *issue_time(inputs["issue"])) == tid
    if v["token_class"] == 0 and subclass < 4:
        units = inputs.get("amount_units", decode_units(value16))
        return sts.credit_token(key, algorithm, sts.UTILITIES[subclass], tid, units, rnd=nibble)
    if v["token_class"] == 0:
        amount = inputs.get("amount", "E")
        amount_e5 = decode_currency(nibble, value16) if "E" in amount else int(amount) * 100000
        return sts.currency_token(key, algorithm, sts.UTILITIES[subclass - 4], tid, amount_e5)
    builders = {0: sts.set_max_power_limit, 6: sts.set_phase_unbalance_limit}
    if subclass in builders:
        return builders[subclass](key, algorithm, tid, decode_units(value16), rnd=nibble)
    assert subclass == 1, v["test"]
    return sts.clear_credit(key, algorithm, tid, value16, rnd=nibble)


def test_builders_reproduce_every_vector():
    for group, algorithm in (("ea07_tokens", "sta"), ("ea11_tokens", "misty1")):
        for v in VECTORS[group]:
            token = build_from_fields(v, algorithm)
            assert token.digits == v["token20"], v["test"]
            assert token.block == h(v["plaintext_block"])


def test_key_change_sets_reproduce_vectors():
    for v in VECTORS["key_change_tokens"]:
        p = v["parameters"]
        algorithm = ALG[v["algorithm"]]
        old, new = key_of(v["current_decoder_key"]), key_of(v["new_decoder_key"])
        first = sts.decode(v["tokens"][0]["token20"], old, algorithm).fields
        second = sts.decode(v["tokens"][1]["token20"], old, algorithm).fields
        assert first["krn"] == p["new_krn"] and second["ti"] == int(p["new_ti"])
        assert first["rollover"] == p.get("ro", 0)
        sgc = None
        if len(v["tokens"]) == 4:
            third = sts.decode(v["tokens"][2]["token20"], old, algorithm).fields
            fourth = sts.decode(v["tokens"][3]["token20"], old, algorithm).fields
            sgc = fourth["sgc_part"] << 12 | third["sgc_part"]
        tokens = sts.key_change(old, algorithm, new, p["new_krn"], first["kt"], int(p["new_ti"]),
                                ken=p["ken"], rollover=bool(first["rollover"]), sgc=sgc)
        assert [t.digits for t in tokens] == [t["token20"] for t in v["tokens"]], v["test"]


def test_class1_tokens_need_no_key():
    for v in VECTORS["class1_tokens_unencrypted"]:
        decoded = sts.decode(v["token20"], None, "sta")
        assert decoded.token_class == 1
        assert decoded.block == h(v["block_after_removing_class"])
    assert sts.test_token(0xFFFFFFF, 0, mfr_digits=4).digits == "02305843005052951967"
    assert sts.test_token(1, 0).digits == "00000000000150997584"
    assert sts.extended_read(0xFC0000000).digits == "03440750115445279822"


def test_decode_names_the_iec_result():
    v = VECTORS["ea07_tokens"][0]
    key = key_of(v["decoder_key"])
    wrong = v["token20"][:5] + str((int(v["token20"][5]) + 1) % 10) + v["token20"][6:]
    assert raises(DecodeError, sts.decode, wrong, key, "sta").result == "CRC"
    other_key = bytes(8)
    assert raises(DecodeError, sts.decode, v["token20"], other_key, "sta").result == "CRC"
    reserved = sts.encode_block(0, sts.make_block(0, 9, 0), key, "sta")
    assert raises(DecodeError, sts.decode, reserved, key, "sta").result == "Function"
    bad_register = sts.encode_block(2, sts.make_block(2, 1, 5 << 40 | 77 << 16 | 9), key, "sta")
    assert raises(DecodeError, sts.decode, bad_register, key, "sta").result == "Range"
    class3 = render_digits(insert_class(0, 3))
    assert raises(DecodeError, sts.decode, class3, key, "sta").result == "Format"


def test_every_builder_round_trips():
    for algorithm, key in (("sta", key_of("87f3ecbb2e46b48f")),
                           ("misty1", key_of("b199270a77af96d3156c51b0964a8782"))):
        t = sts.credit_token(key, algorithm, "water", 12345, 1234)
        d = sts.decode(t.digits, key, algorithm)
        assert (d.token_class, d.subclass, d.tid, d.value) == (0, 1, 12345, 1234)
        t = sts.currency_token(key, algorithm, "gas", 99, -250000)
        assert sts.decode(t.digits, key, algorithm).value == t.value
        for builder, arg, field in ((sts.set_max_power_limit, 5000, "value"),
                                    (sts.set_phase_unbalance_limit, 300, "value"),
                                    (sts.clear_credit, 4, "register"),
                                    (sts.set_tariff_rate, 777, "value"),
                                    (sts.set_water_meter_factor, 1000, "value")):
            d = sts.decode(builder(key, algorithm, 4242, arg).digits, key, algorithm)
            assert d.tid == 4242 and d.fields[field] == arg
        d = sts.decode(sts.clear_tamper(key, algorithm, 7).digits, key, algorithm)
        assert d.subclass == sts.CLEAR_TAMPER and d.tid == 7


def test_key_change_sizes():
    sta_key, new = key_of("87f3ecbb2e46b48f"), key_of("0102030405060708")
    assert len(sts.key_change(sta_key, "sta", new, 2, 2, 1)) == 2
    three = sts.key_change(sta_key, "sta", new, 2, 2, 1, sgc=123456)
    assert len(three) == 3
    assert sts.decode(three[2].digits, sta_key, "sta").fields["sgc"] == 123456
    assert sts.decode(three[0].digits, sta_key, "sta").fields["three_tokens"] == 1
    mkey = key_of("b199270a77af96d3156c51b0964a8782")
    assert len(sts.key_change(mkey, "misty1", mkey, 1, 2, 2, sgc=201457)) == 4
    raises(TokenError, sts.key_change, mkey, "misty1", mkey, 1, 2, 2)
    raises(TokenError, sts.key_change, sta_key, "sta", new, 16, 2, 1)


def test_tid_rules():
    assert tid_time(1993, 0xFFFFFF) == (2024, 11, 24, 20, 15)
    assert tid_time(2014, 0xFFFFFF) == (2045, 11, 24, 20, 15)
    assert tid_time(2035, 0xFFFFFF) == (2066, 11, 24, 20, 15)
    raises(TokenError, tid_at, 1993, 2024, 11, 24, 20, 16)
    assert tid_at(1993, 2024, 11, 24, 20, 15) == 0xFFFFFF
    raises(TokenError, tid_at, 2014, 2013, 12, 31, 23, 59)
    raises(TokenError, tid_at, 2000, 2020, 1, 1, 0, 0)
    raises(TokenError, tid_at, 2014, 2026, 2, 29, 0, 0)
    assert tid_at(2014, 2026, 11, 23, 0, 1) == tid_at(2014, 2026, 11, 23, 0, 2)
    first = next_tid(2014, 2026, 11, 23, 8, 0, None)
    second = next_tid(2014, 2026, 11, 23, 8, 0, first)
    third = next_tid(2014, 2026, 11, 23, 8, 0, second)
    assert first < second < third
    midnight = tid_at(2014, 2026, 11, 23, 0, 0)
    assert next_tid(2014, 2026, 11, 23, 0, 0, midnight) == midnight + 2   # skips 00:01


def test_pan_check_digit():
    assert validate_pan("600727000000000009") == "600727000000000009"
    raises(TokenError, validate_pan, "600727000000000008")
    raises(TokenError, validate_pan, "60072700000000009")


def test_meter_test_control_bits_follow_the_standard():
    from tokens.meter_tests import CONTROL_BITS, control_of, selected
    from tokens.names import METER_TESTS, describe_control
    assert CONTROL_BITS == (
        "load_switch", "display", "total_energy", "krn", "ti", "token_reader", "max_power",
        "tamper", "power", "version", "unbalance_limit", "water_factor", "tariff_rate",
        "algorithm", "kct_count", "sgc", "ken", "drn")
    assert sorted(METER_TESTS) == sorted(CONTROL_BITS)
    assert control_of(["load_switch"]) == 0x1 and control_of(["max_power"]) == 0x40
    assert control_of(["version"]) == 0x200 and control_of(["drn"]) == 0x20000
    assert control_of([]) == 0 and selected(0) == list(CONTROL_BITS)
    assert selected(0x41) == ["load_switch", "max_power"] and selected(1 << 20) == []
    assert "tests are: load_switch, display" in str(raises(TokenError, control_of, ["relay"]))
    assert describe_control(0) == "all tests"
    assert describe_control(0x201) == "load switch test, software version"
    assert describe_control(0xFFFFFFF).endswith(
        "decoder reference number, undefined bits 0xffc0000 (no test)")
    readme = sts.decode("0000 0000 0001 5099 7584", None, "sta")
    assert readme.fields == {"control": 1, "manufacturer_code": 0, "mfr_digits": 2}
