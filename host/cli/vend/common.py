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
    """The options every command has. ``operator``: the command acts (and so needs an
    operator in local mode too); through a server every command needs one."""
    parser.add_argument("--db", metavar="URL", help="database URL or SQLite path (default: PREPAY_DB, "
                        "else $XDG_DATA_HOME/prepay/vending.db); local mode only")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--operator", metavar="NAME", default=os.environ.get("PREPAY_OPERATOR"),
                        help="acting operator (default: PREPAY_OPERATOR); password from "
                             "PREPAY_OPERATOR_PASSWORD or a prompt" + (
                                 "" if operator else "; reads need an operator too"))
    return parser


def secret(env, prompt):
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise UserError("%s is not set and there is no terminal to ask" % env)
    return getpass.getpass(prompt)


def new_secret(env, prompt):
    """A secret being set: from ``env``, or typed twice at a prompt (a typo in a new
    passphrase or password would lock its owner out)."""
    value = os.environ.get(env)
    if value:
        return value
    first = secret(env, prompt)
    if getpass.getpass("Repeat: ") != first:
        raise UserError("the two entries differ; nothing was changed")
    return first


def passphrase():
    return secret("PREPAY_KEYSTORE_PASSPHRASE", "Keystore passphrase: ")


def wrap(job):
    """Turn the station's own errors into the CLI's one-line user errors."""
    def run(args):
        from sqlalchemy.exc import DBAPIError
        from host.vending.errors import VendError, database_error
        from host.vending.text import shown
        try:
            result = job(args)
        except (VendError, UserError) as exc:       # they may quote what was typed or stored
            raise UserError(shown(exc))
        except DBAPIError as exc:                   # never the statement and its parameters
            raise UserError(database_error(exc))
        finally:
            _close_desk(args)
        if result is not None:
            emit(args, result)
        return 0
    return run


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
    return office.login(station, _operator_name(args), _operator_password(args), role)


def _operator_name(args):
    if not args.operator:
        raise UserError("say who is acting: --operator NAME or PREPAY_OPERATOR")
    return args.operator


def _operator_password(args):
    return secret("PREPAY_OPERATOR_PASSWORD", "Password for %s: " % args.operator)


def server_url(args):
    return getattr(args, "server", None) or os.environ.get("PREPAY_SERVER") or None


def desk(args):
    """Where this command's operations run: the vending server (``--server URL`` or
    PREPAY_SERVER, as the operator logged in there) or this process (local mode)."""
    found = getattr(args, "_desk", None)
    if found is None:
        found = RemoteDesk(args) if server_url(args) else LocalDesk(args)
        args._desk = found
    return found


def _close_desk(args):
    found = args.__dict__.pop("_desk", None)
    if found is not None:
        found.close()


class LocalDesk:
    """The operations run in this process on the database (``--db``/PREPAY_DB)."""
    local = True

    def __init__(self, args):
        self.args = args
        self.station = open_station(args)
        self._actor = None

    def call(self, name, /, **params):
        """Run an operation as the operator: reads too (customers' details, reports,
        operators and the audit trail are no one's business without a login)."""
        from host.vending import api, operators
        op = api.OPERATIONS[name]
        if self._actor is None:                     # one login (one scrypt) per command
            self._actor = operator_row(self.station, self.args)
        operators.require(self._actor, op.role)
        return api.call(self.station, self._actor, name, params)

    def call_as(self, actor, name, /, **params):
        from host.vending import api
        return api.call(self.station, actor, name, params)

    def zone(self):
        return self.station.zone()

    def close(self):
        self.station.engine.dispose()


class RemoteDesk:
    """The operations run on the vending server, as the operator logged in there."""
    local = False

    def __init__(self, args):
        from host.vending.client import Client
        if args.db:
            raise UserError("--db is for local mode: with --server the server holds the database")
        self.client = Client(server_url(args), cacert=getattr(args, "cacert", None))
        try:
            self.client.login(_operator_name(args), _operator_password(args))
        except BaseException:
            self.client.close()
            raise
        self._zone = None

    def call(self, name, /, **params):
        return self.client.call(name, **params)

    def zone(self):
        if self._zone is None:
            import zoneinfo
            self._zone = zoneinfo.ZoneInfo(self.client.call("station")["timezone"])
        return self._zone

    def close(self):
        try:
            if self.client.operator is not None:
                self.client.logout()
        except Exception:               # the work is done; an expired session is no error
            pass
        self.client.close()


def parse_date(text, what="date"):
    """A day as a naive datetime at midnight (what the ledger's queries compare with)."""
    from host.parse import date
    return datetime.datetime.combine(date(text, what), datetime.time())


def json_value(value):
    """JSON for what json does not know (the ledger's naive UTC times as ISO 8601 UTC)."""
    from host.vending.api import json_value as encode
    return encode(value)


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
