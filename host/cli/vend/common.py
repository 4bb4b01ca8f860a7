"""What every ``prepay vend`` command shares: the common options, secrets from the
environment or a prompt, the station, the acting operator, and turning the station's
errors into the CLI's one-line user errors."""

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
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
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
    from host.vending import operators
    if not args.operator:
        raise UserError("say who is acting: --operator NAME or PREPAY_OPERATOR")
    password = secret("PREPAY_OPERATOR_PASSWORD", "Password for %s: " % args.operator)
    with station.engine.connect() as conn:
        return operators.authenticate(conn, args.operator, password, role)


def parse_date(text, what="date"):
    """A day as a naive datetime at midnight (what the ledger's queries compare with)."""
    from host.parse import date
    return datetime.datetime.combine(date(text, what), datetime.time())


def table(rows, columns):
    if not rows:
        return "(none)\n"
    cells = [["-" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    for row in cells:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(out) + "\n"


def audit_entry(conn, station, operator_name, action, subject, payload):
    from host.vending import audit
    audit.append(conn, station.clock(), operator_name, action, subject, payload)


def token_digits(digits):
    from tokens.sts import format_digits
    return format_digits(digits)
