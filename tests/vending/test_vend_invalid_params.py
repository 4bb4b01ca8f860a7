"""Parameters that fail validation give one line naming the field, by either door, and
never echo the input: it may be a password or a key (rule 4, rule 8)."""
import pytest

from host.vending import api
from host.vending.errors import VendError

SECRET_HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize("name, params, field", [
    ("sell", {"meter": "01234567890", "amount_cents": "12.50", "channel": "cash"}, "amount_cents"),
    ("sell", {"meter": "01234567890", "amount_cents": 1250, "channel": "cash", "pin": SECRET_HEX}, "pin"),
    ("key_add", {"sgc": 123456, "krn": 1, "dkga": "04", "key_hex": SECRET_HEX, "expires": "12345"}, "expires"),
    ("operator_add", {"name": "sam", "role": "clerk", "password": SECRET_HEX, "shift": 12345}, "shift"),
])
def test_local_door_refuses_in_one_line_without_the_input(name, params, field):
    with pytest.raises(VendError) as refused:
        api.call(None, None, name, params)       # refused before the station is touched
    message = str(refused.value)
    assert message.startswith("invalid request: ") and "\n" not in message
    if field:
        assert field in message
    assert SECRET_HEX not in message and "12345" not in message and "12.50" not in message
