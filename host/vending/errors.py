"""Errors a clerk or supervisor can cause and fix; the message is printed as it is."""


class VendError(Exception):
    """A refused request: unknown meter, bad amount, wrong password, expired key, ..."""


class PermissionDenied(VendError):
    """The operator's role does not allow this action."""
