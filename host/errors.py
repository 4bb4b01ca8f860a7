"""Errors a user of the ``prepay`` tools can cause and fix."""


class UserError(Exception):
    """A mistake the user can fix; the message is printed as it is, on one line."""
