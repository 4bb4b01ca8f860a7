"""Payment providers' callbacks (mobile money, banks): a payment reported the moment it is
made, vended exactly as a statement line is (``payments.vend_payment``: the sale's
reference is ``pay:<provider>:<reference>``, so it is sold once whatever happens).

A provider has a name (the payments' source: its references are unique per provider), a
shared secret and the operator account its sales are made as (the audit trail names it).
A callback is a JSON object with exactly the fields of ``FIELDS`` and two headers:
``X-Prepay-Timestamp`` (Unix seconds) and ``X-Prepay-Signature``, the hex HMAC-SHA256
of ``TIMESTAMP.BODY`` under the shared secret (``sign``).

Refused with nothing written: a wrong or missing signature (forged), a timestamp more
than ``WINDOW_S`` from the station's clock (a recorded callback replayed later), a body
that is not those fields with their types. A callback replayed within the window vends
nothing: its reference was vended (``skipped``); the same reference with another account
or amount is refused (``VendError``). Amounts are integer cents, checked as a sale checks
them; the account is matched as a statement's (a meter number, or an account with one
active meter).
"""
import datetime
import hashlib
import hmac
import json
from dataclasses import dataclass

from host.vending import operators, payments, schema
from host.vending.errors import VendError
from host.vending.records import CHANNELS
from host.vending.text import field

WINDOW_S = 300
FIELDS = {"reference": str, "account": str, "amount_cents": int, "paid_at": str, "channel": str}


class Forged(VendError):
    """A callback whose signature or time does not hold: nothing of it is believed."""


@dataclass(frozen=True, repr=False)
class Provider:
    name: str
    secret: bytes = b""
    operator: str = ""

    def __repr__(self):         # never the secret
        return "Provider(%r, operator=%r)" % (self.name, self.operator)


def sign(secret, timestamp, body):
    """The signature of a callback: hex HMAC-SHA256 of ``b"TIMESTAMP." + body``."""
    return hmac.new(secret, b"%d." % int(timestamp) + body, hashlib.sha256).hexdigest()


def verify(provider, timestamp_text, signature, body, now):
    """Check signature and time; returns the payment fields (``Forged`` or ``VendError``)."""
    if not signature or not timestamp_text or not timestamp_text.isascii() or not timestamp_text.isdigit() \
            or len(timestamp_text) > 12:
        raise Forged("unsigned callback")
    timestamp = int(timestamp_text)
    if not hmac.compare_digest(sign(provider.secret, timestamp, body), signature.strip().lower()):
        raise Forged("the signature does not match")
    age = now.replace(tzinfo=datetime.timezone.utc).timestamp() - timestamp
    if abs(age) > WINDOW_S:
        raise Forged("the callback is %d s from the station's clock (at most %d)" % (age, WINDOW_S))
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise VendError("the body is not JSON")
    if not isinstance(data, dict) or set(data) != set(FIELDS) or \
            any(type(data[k]) is not t for k, t in FIELDS.items()):
        raise VendError("the body must have exactly %s" % ", ".join("%s (%s)" % (k, t.__name__)
                                                                 for k, t in FIELDS.items()))
    return data


def _paid_at(text):
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise VendError("paid_at must be an ISO 8601 time")
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when


def receive(station, provider, timestamp_text, signature, body):
    """Vend the payment a signed callback reports; ``(status, entry)`` as a statement line's."""
    data = verify(provider, timestamp_text, signature, body, station.clock())
    reference = field(data["reference"], schema.payments.c.line_ref, "reference")
    account = field(data["account"], schema.payments.c.account_ref, "account")
    if data["amount_cents"] <= 0:
        raise VendError("amount_cents must be positive")
    if data["channel"] not in CHANNELS:
        raise VendError("channel must be one of %s" % ", ".join(CHANNELS))
    with station.engine.connect() as conn:
        row = operators.find(conn, provider.operator)
    if row is None or not operators.usable(row, station.clock()):
        raise VendError("the provider's operator account %s is not usable" % provider.operator)
    entry = {"reference": reference, "account": account, "amount_cents": data["amount_cents"]}
    return payments.vend_payment(station, dict(row), provider.name, {"reference": reference, "account": account},
                                 data["amount_cents"], _paid_at(data["paid_at"]), data["channel"], entry)

