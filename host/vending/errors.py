"""Errors a clerk or supervisor can cause and fix; the message is printed as it is."""


class VendError(Exception):
    """A refused request: unknown meter, bad amount, wrong password, expired key, ..."""


class PermissionDenied(VendError):
    """The operator's role does not allow this action."""


def database_said(exc):
    """The first line of what the database itself said about ``exc`` (a SQLAlchemy
    ``DBAPIError``): never the statement or its parameters, which may hold anything."""
    return (str(getattr(exc, "orig", exc)).strip().splitlines() or ["?"])[0]
