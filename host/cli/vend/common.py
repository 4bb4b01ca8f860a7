"""What every ``prepay vend`` command shares: the common options, secrets from the
environment or a prompt, the station, the acting operator, turning the station's errors
into the CLI's one-line user errors, and rows shown as people write their values."""

import datetime
import getpass
import json
import os
import sys

from host.errors import UserError


def common(parser, operator=False):
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite path (default: PREPAY_DB, "
                        "else $XDG_DATA_HOME/prepay/vending.db)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    if operator:
        parser.add_argument("--operator", metavar="NAME", default=os.environ.get("PREPAY_OPERATOR"),
                            help="acting operator (default: PREPAY_OPERATOR); password from "
                                 "PREPAY_OPERATOR_PASSWORD or a prompt")
    return parser


def secret(env, prompt):
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise UserError("%s is not set and there is no terminal to ask" % env)
    return getpass.getpass(prompt)


def passphrase():
    return secret("PREPAY_KEYSTORE_PASSPHRASE", "Keystore passphrase: ")


def wrap(job):
    """Turn the station's own errors into the CLI's one-line user errors."""
    def run(args):
        from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
        from host.vending.errors import VendError
        from host.vending.text import shown
        try:
            result = job(args)
        except (VendError, UserError) as exc:       # they may quote what was typed or stored
            raise UserError(shown(exc))
        except OperationalError as exc:
            raise UserError("database unavailable or locked: %s" % _first_line(exc))
        except IntegrityError as exc:
            raise UserError("refused by the database (conflicting record): %s" % _first_line(exc))
        except DBAPIError as exc:                   # never the statement and its parameters
            raise UserError("refused by the database: %s" % _first_line(exc))
        if result is not None:
            emit(args, result)
        return 0
    return run


def _first_line(exc):
    from host.vending.errors import database_said
    from host.vending.text import shown
    return shown(database_said(exc))


def emit(args, result):
    """Print a result: JSON, or the text with every line's control characters escaped."""
    from host.vending.text import shown
    data, text = result
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True, default=json_value))
    elif text:
        lines = text[:-1] if text.endswith("\n") else text
        sys.stdout.write("\n".join(shown(line) for line in lines.split("\n")) + "\n")
        sys.stdout.flush()


def warn(message):
    """A warning on stderr: something went wrong after the work was done and committed."""
    from host.vending.text import shown
    print("prepay vend: warning: %s" % shown(message), file=sys.stderr, flush=True)


def open_station(args):
    from host.vending.db import make_engine
    from host.vending.station import Station
    return Station(make_engine(args.db), passphrase=passphrase)


def operator_row(station, args, role="clerk"):
    from host.vending import office
    if not args.operator:
        raise UserError("say who is acting: --operator NAME or PREPAY_OPERATOR")
    password = secret("PREPAY_OPERATOR_PASSWORD", "Password for %s: " % args.operator)
    return office.login(station, args.operator, password, role)


def parse_date(text, what="date"):
    """A day as a naive datetime at midnight (what the ledger's queries compare with)."""
    from host.parse import date
    return datetime.datetime.combine(date(text, what), datetime.time())


def json_value(value):
    """JSON for what json does not know: the ledger's naive UTC times as ISO 8601 UTC."""
    if isinstance(value, datetime.datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


UNIT_SUFFIXES = ("_cents", "_bp", "_tenths", "_micro")


def cell(column, value, zone=None):
    """A value as people write it: a column named with its unit (``amount_cents``,
    ``vat_bp``, ``units_tenths``, ``price_micro``) as 9950.00, 16%, 2.5, 0.25; a time in
    ISO local time of ``zone`` (the station's; UTC without one); ``-`` for none."""
    from host.vending.money import fmt_cents, fmt_percent, fmt_price, fmt_tenths
    from host.vending.text import shown
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        utc = value.replace(tzinfo=datetime.timezone.utc)
        return (utc.astimezone(zone) if zone else utc).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int):
        for suffix, show in zip(UNIT_SUFFIXES, (fmt_cents, fmt_percent, fmt_tenths, fmt_price)):
            if column.endswith(suffix):
                return show(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True, separators=(",", ":"), default=json_value)
    return shown(value)


def table(rows, columns, zone=None):
    """Rows as aligned text, each column headed by its name without the unit."""
    if not rows:
        return "(none)\n"
    cells = [[cell(c, r.get(c), zone) for c in columns] for r in rows]
    heads = [next((c[:-len(u)] for u in UNIT_SUFFIXES if c.endswith(u)), c) for c in columns]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip()]
    for row in cells:
        out.append("  ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip())
    return "\n".join(out) + "\n"


def token_digits(digits):
    from tokens.sts import format_digits
    return format_digits(digits)
