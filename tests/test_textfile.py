"""Text files the host tools read (``host.textfile``): UTF-8 with or without a BOM and
UTF-16 with a BOM are read; anything else is one line naming the file and the byte
offset, without echoing the bytes. Each command that reads a file is tested with such
files next to its own tests (tests/vending/test_vend_files.py, tests/test_files_cli.py)."""
import io
import json

import pytest
from hypothesis import given, strategies as st

from host import textfile
from host.textfile import TextFileError

TEXT = "reference,date\nTX1,2026-05-04 caf\u00e9 \u20ac \U0001F600\n"


@pytest.mark.parametrize("data", [TEXT.encode("utf-8"), b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
                                  TEXT.encode("utf-16"), b"\xfe\xff" + TEXT.encode("utf-16-be"),
                                  b"\xff\xfe" + TEXT.encode("utf-16-le")])
def test_utf8_and_utf16_with_bom_read_the_same(data):
    assert textfile.decode(data, "f.csv") == TEXT


@pytest.mark.parametrize("data, offset, said", [
    ("TX1,caf\u00e9\n".encode("latin-1"), 7, "not UTF-8 text at byte 7"),
    (TEXT.encode("utf-16-le"), 1, "control character at byte 1"),        # UTF-16 without its BOM
    (b"\x89PNG\r\n\x1a\n\x00\x00", 0, "not UTF-8 text at byte 0"),
    (b"\xff\xfeA\x00\x00\xd8", 4, "not UTF-16 text at byte 4"),         # a lone surrogate
    (b"ok\x00\x00\x00", 2, "control character at byte 2"),
    (b"\xef\xbb\xbfab\x1b[2J", 5, "control character at byte 5"),      # an escape sequence
])
def test_anything_else_is_one_line_with_the_offset(data, offset, said):
    with pytest.raises(TextFileError) as caught:
        textfile.decode(data, "statement.csv")
    message = str(caught.value)
    assert message.startswith("statement.csv: ") and said in message and "\n" not in message


@given(st.binary(min_size=1, max_size=200))
def test_random_bytes_are_text_or_one_line_never_a_crash(data):
    try:
        text = textfile.decode(data, "x")
    except TextFileError as exc:
        assert "\n" not in str(exc) and "byte " in str(exc)
    else:
        assert isinstance(text, str)


def test_the_bytes_are_never_echoed():
    secret = bytes.fromhex("abababababababab949494949494949401234567")
    with pytest.raises(TextFileError) as caught:
        textfile.decode(secret, "vk.hex")
    assert "ab" not in str(caught.value).split(":", 1)[1] and "\\x" not in str(caught.value)


def test_read_names_the_file_and_reads_streams(tmp_path):
    with pytest.raises(TextFileError, match="cannot read statement .*missing.csv: No such file"):
        textfile.read(tmp_path / "missing.csv", "statement")
    with pytest.raises(TextFileError, match="cannot read statement"):
        textfile.read(tmp_path, "statement")
    assert textfile.read_stream(io.BytesIO("a\u00e9".encode("utf-16"))) == "a\u00e9"
    with pytest.raises(TextFileError, match="standard input: not UTF-8"):
        textfile.read_stream(io.BytesIO(b"\xe9"))


def test_json_is_strict(tmp_path):
    path = tmp_path / "METER.json"
    path.write_bytes(json.dumps({"a": 1}).encode("utf-16"))
    assert textfile.read_json(path) == {"a": 1}
    for text, said in (('{"a": NaN}', "NaN"), ('{"a": -Infinity}', "Infinity"), ('{"a": 1, "a": 2}', "twice"),
                       ('{"a": 1,}', "not valid JSON")):
        path.write_text(text)
        with pytest.raises(TextFileError, match=said):
            textfile.read_json(path)
