"""Errors a clerk or supervisor can cause and fix; the message is printed as it is."""


class VendError(Exception):
    """A refused request: unknown meter, bad amount, wrong password, expired key, ..."""


class PermissionDenied(VendError):
    """The operator's role does not allow this action."""


class LoginThrottled(VendError):
    """Too many failed logins for this name or address: refused until the time it says
    (HTTP 429 by the server's and the web console's doors)."""


def database_said(exc):
    """The first line of what the database itself said about ``exc`` (a SQLAlchemy
    ``DBAPIError``): never the statement or its parameters, which may hold anything."""
    return (str(getattr(exc, "orig", exc)).strip().splitlines() or ["?"])[0]


def database_error(exc):
    """The one line a user sees for a database error (``DBAPIError``), by its kind."""
    from sqlalchemy.exc import IntegrityError, OperationalError
    from host.vending.text import shown
    said = shown(database_said(exc))
    if isinstance(exc, OperationalError):
        return "database unavailable or locked: %s" % said
    if isinstance(exc, IntegrityError):
        return "refused by the database (conflicting record): %s" % said
    return "refused by the database: %s" % said
