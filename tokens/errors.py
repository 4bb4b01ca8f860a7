"""Errors of the token codec, each with a message a clerk or technician understands."""


class TokenError(ValueError):
    """Bad input to the codec: wrong digits, an amount that cannot be encoded, ..."""


class DecodeError(TokenError):
    """A token the meter must refuse; ``result`` is the IEC 62055-41 result name."""

    def __init__(self, result, message):
        super().__init__(message)
        self.result = result
