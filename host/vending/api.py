"""Every vending operation once: its name, the role it needs, its parameters (a pydantic
model) and the ``host.vending`` function it calls. Both doors use this table: the CLI in
local mode calls ``run`` itself, and the vending server (``host.vending.server``) makes
one HTTP route of each entry, which the CLI in server mode calls through
``host.vending.client``. A new operation is one entry here; the server's route-by-role
table and its test then cover it.

``changes`` act as the operator (the audit entry names them) and need ``role``;
``reads`` need an authenticated operator (any role) through the server, and none in
local mode (whoever opens the database file holds everything anyway).

Results are JSON with times as ISO 8601 UTC (``...Z``); ``decode`` turns them back into
the naive UTC datetimes the ledger uses, so that both doors print the same.
"""
import datetime
import re
from dataclasses import dataclass
from typing import Annotated, Callable, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, SecretStr, Strict, ValidationError

from host.vending import adjustments, audit, mgmt, office, payments, reports, sales
from host.vending.errors import VendError

Int = Annotated[int, Strict()]          # money and counts: never a float or a string
Channel = Literal["cash", "bank", "mobile", "card"]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Operation:
    name: str
    method: str                 # GET: a read; POST: a change
    path: str
    role: str                   # the least role that may call it
    params: type
    run: Callable               # run(station, actor, params) -> result
    stream: bool = False        # yields results one by one (NDJSON through the server)
    change: bool = True         # acts as the operator (else a read)


OPERATIONS = {}


def operation(name, method, path, role, params, stream=False, change=None):
    def add(run):
        OPERATIONS[name] = Operation(name, method, "/api" + path, role, params, run, stream,
                                     method == "POST" if change is None else change)
        return run
    return add


def call(station, actor, name, params):
    """Run an operation in this process: validate its parameters as the server would."""
    op = OPERATIONS[name]
    try:
        checked = op.params.model_validate(params)
    except ValidationError as exc:
        raise VendError(invalid_request(exc.errors()))
    return op.run(station, actor, checked)


def invalid_request(errors, skip=0):
    """One line naming the first bad field, never the input itself (it may be a password
    or a key); ``skip`` drops the leading parts of its location (the server's "body")."""
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())[skip:]) or "request"
    return "invalid request: %s: %s" % (where, first.get("msg", "invalid"))


# Station -------------------------------------------------------------------------------

class Nothing(Params):
    pass


@operation("station", "GET", "/station", "clerk", Nothing)
def _station(station, actor, p):
    return {"timezone": station.zone().key}


# Operators ---------------------------------------------------------------------------------

class OperatorAdd(Params):
    name: str
    role: Literal["clerk", "supervisor", "admin", "technician"]
    password: SecretStr


class OperatorName(Params):
    name: str


@operation("operator_add", "POST", "/operators", "admin", OperatorAdd)
def _operator_add(station, actor, p):
    return office.add_operator(station, actor, p.name, p.role, p.password.get_secret_value())


@operation("operator_disable", "POST", "/operators/disable", "admin", OperatorName)
def _operator_disable(station, actor, p):
    return office.disable_operator(station, actor, p.name)


@operation("operator_enable", "POST", "/operators/enable", "admin", OperatorName)
def _operator_enable(station, actor, p):
    return office.enable_operator(station, actor, p.name)


@operation("operator_approve", "POST", "/operators/approve", "admin", OperatorName)
def _operator_approve(station, actor, p):
    return office.approve_operator(station, actor, p.name)


@operation("operator_list", "GET", "/operators", "clerk", Nothing)
def _operator_list(station, actor, p):
    return office.operator_list(station)


# Vending keys --------------------------------------------------------------------------------

class KeyAdd(Params):
    sgc: Int
    krn: Int
    dkga: Literal["02", "04"]
    key_hex: SecretStr = Field(description="the vending key in hex; use TLS beyond loopback")
    expires_on: Optional[datetime.date] = None


@operation("key_add", "POST", "/keys", "admin", KeyAdd)
def _key_add(station, actor, p):
    text = p.key_hex.get_secret_value()
    if not text or len(text) % 2 or not all(c in "0123456789abcdefABCDEF" for c in text):
        raise VendError("the vending key must be hex digits (an even number of them)")
    return office.add_vending_key(station, actor, p.sgc, p.krn, p.dkga, bytes.fromhex(text), p.expires_on)


@operation("key_list", "GET", "/keys", "clerk", Nothing)
def _key_list(station, actor, p):
    return office.vending_keys(station)


# Tariffs ---------------------------------------------------------------------------------------

class TariffVersion(Params):
    blocks: list[tuple[Optional[Int], Int]]
    vat_bp: Int = 0
    service_cents: Int = 0
    service_period: Literal["none", "month", "day"] = "none"
    free_tenths: Int = 0
    min_amount_cents: Int = 100
    effective_from: Optional[datetime.datetime] = None


class Tariff(Params):
    name: str
    version: TariffVersion


@operation("tariff_add", "POST", "/tariffs", "supervisor", Tariff)
def _tariff_add(station, actor, p):
    return office.add_tariff(station, actor, p.name, p.version.model_dump())


@operation("tariff_revise", "POST", "/tariffs/revise", "supervisor", Tariff)
def _tariff_revise(station, actor, p):
    return office.revise_tariff(station, actor, p.name, p.version.model_dump())


@operation("tariff_list", "GET", "/tariffs", "clerk", Nothing)
def _tariff_list(station, actor, p):
    return office.tariffs(station)


# Customers and debt ------------------------------------------------------------------------------

class CustomerAdd(Params):
    account: str
    name: str
    address: Optional[str] = None
    phone: Optional[str] = None
    contact: Optional[str] = None
    id_number: Optional[str] = None
    settlement_day: Int = 1


class Account(Params):
    account: str


class Debt(Params):
    account: str
    debt_cents: Int
    recovery_bp: Int


@operation("customer_add", "POST", "/customers", "clerk", CustomerAdd)
def _customer_add(station, actor, p):
    added = office.add_customer(station, actor, p.account, p.name, p.address, p.phone, p.contact,
                                p.id_number, p.settlement_day)
    return {"account": added["account"], "name": added["name"]}


@operation("customer_show", "GET", "/customers/show", "clerk", Account)
def _customer_show(station, actor, p):
    return office.customer(station, p.account)


@operation("debt_set", "POST", "/debt", "supervisor", Debt)
def _debt_set(station, actor, p):
    return office.set_debt(station, actor, p.account, p.debt_cents, p.recovery_bp)


# Meters ----------------------------------------------------------------------------------------------

class MeterAdd(Params):
    meter: str
    account: str
    sgc: Int
    ti: Int
    krn: Int
    kt: Int = 2
    ken: Int = 255
    algorithm: str
    base_date: Int
    utility: Literal["electricity", "water", "gas", "time"] = "electricity"
    credit_mode: Literal["unit", "currency"] = "unit"
    tariff: str


class MeterMove(Params):
    meter: str
    account: str


class MeterStatus(Params):
    meter: str
    status: Literal["active", "blocked", "removed"]


class Meter(Params):
    meter: str


@operation("meter_add", "POST", "/meters", "supervisor", MeterAdd)
def _meter_add(station, actor, p):
    return office.add_meter(station, actor, p.meter, p.account, p.sgc, p.ti, p.krn, p.kt, p.algorithm,
                            p.base_date, p.utility, p.tariff, p.credit_mode, p.ken)


@operation("meter_move", "POST", "/meters/move", "supervisor", MeterMove)
def _meter_move(station, actor, p):
    return office.move_meter(station, actor, p.meter, p.account)


@operation("meter_status", "POST", "/meters/status", "supervisor", MeterStatus)
def _meter_status(station, actor, p):
    return office.set_meter_status(station, actor, p.meter, p.status)


@operation("meter_show", "GET", "/meters/show", "clerk", Meter)
def _meter_show(station, actor, p):
    return office.meter(station, p.meter)


# Sales ---------------------------------------------------------------------------------------------------

class Sell(Params):
    meter: str
    amount_cents: Int
    channel: Channel
    reference: Optional[str] = None


class Reprint(Params):
    receipt: Optional[Int] = None
    meter: Optional[str] = None


# What a token's ``value`` counts, by its kind: the key that says so (``value`` stays, as
# an alias for scripts written before). A credit token counts tenths of a unit, or
# 1/100000 of the currency on a currency meter; management tokens take their CLI flag's name.
TOKEN_VALUE_KEYS = {"credit": "units_tenths", "free_basic": "units_tenths", "adjustment": "units_tenths",
                    "power_limit": "watts", "phase_unbalance": "watts", "clear_credit": "register",
                    "tariff_rate": "rate", "water_factor": "factor"}


def named_value(token, currency=False):
    """``token`` with its value also under the key that names its unit."""
    key = "credit_e5" if currency and token.get("kind") == "credit" else TOKEN_VALUE_KEYS.get(token.get("kind"))
    if key and token.get("value") is not None:
        token[key] = token["value"]
    return token


def _receipt(result):
    currency = result.get("credit_e5") is not None
    for token in result.get("tokens", []):
        named_value(token, currency)
    return result


@operation("sell", "POST", "/sales", "clerk", Sell)
def _sell(station, actor, p):
    return _receipt(sales.sell(station, actor, p.meter, p.amount_cents, p.channel, reference=p.reference))


@operation("reprint", "POST", "/reprints", "clerk", Reprint)
def _reprint(station, actor, p):
    if (p.receipt is None) == (p.meter is None):
        raise VendError("say which receipt: a receipt number or a meter, one of them")
    return _receipt(sales.reprint(station, actor, sale_id=p.receipt, pan=p.meter))


class Statement(Params):
    name: str = Field(description="the statement's file name, for messages")
    text: str = Field(description="the statement's CSV text (read by the client as host.textfile reads)")
    source: str


@operation("payments_import", "POST", "/payments/import", "clerk", Statement, stream=True)
def _payments_import(station, actor, p):
    for status, line in payments.import_lines(station, actor, p.name, p.source, text=p.text):
        yield {"status": status, "line": line}


# Tokens ------------------------------------------------------------------------------------------------------

class Management(Params):
    meter: str
    kind: Literal[tuple(sorted(mgmt.MANAGEMENT))]
    value: Optional[Int] = None


class KeyChange(Params):
    meter: str
    krn: Optional[Int] = None
    sgc: Optional[Int] = None
    ti: Optional[Int] = None
    kt: Optional[Int] = None
    ken: Optional[Int] = None
    base_date: Optional[Int] = None


class MeterTest(Params):
    control: Int = 0
    mfr_code: Int = 0
    mfr_digits: Literal[2, 4] = 2


@operation("token_management", "POST", "/tokens/management", "supervisor", Management)
def _token_management(station, actor, p):
    return named_value(mgmt.issue_management(station, actor, p.meter, p.kind, p.value))


@operation("token_key_change", "POST", "/tokens/key-change", "supervisor", KeyChange)
def _token_key_change(station, actor, p):
    return mgmt.key_change(station, actor, p.meter, krn=p.krn, sgc=p.sgc, ti=p.ti, kt=p.kt,
                           base_year=p.base_date, ken=p.ken)


@operation("token_test", "POST", "/tokens/test", "clerk", MeterTest)
def _token_test(station, actor, p):
    return mgmt.test_token(station, actor, p.control, p.mfr_code, p.mfr_digits)


# Adjustments ------------------------------------------------------------------------------------------------

class AdjustRequest(Params):
    kind: Literal["refund", "offset", "credit"]
    reason: str
    receipt: Optional[Int] = None
    account: Optional[str] = None
    meter: Optional[str] = None
    amount_cents: Int = 0
    units_tenths: Int = 0


class AdjustDecide(Params):
    id: Int
    confirm: bool


class AdjustList(Params):
    pending: bool = False


@operation("adjust_request", "POST", "/adjustments", "clerk", AdjustRequest)
def _adjust_request(station, actor, p):
    return adjustments.request(station, actor, p.kind, p.reason, sale_id=p.receipt, account=p.account,
                               pan=p.meter, amount_cents=p.amount_cents, units_tenths=p.units_tenths)


@operation("adjust_decide", "POST", "/adjustments/decide", "supervisor", AdjustDecide)
def _adjust_decide(station, actor, p):
    result = adjustments.decide(station, actor, p.id, p.confirm)
    if "token" in result:
        named_value(result["token"])
    return result


@operation("adjust_list", "GET", "/adjustments", "clerk", AdjustList)
def _adjust_list(station, actor, p):
    return office.adjustment_list(station, pending_only=p.pending)


# Audit ---------------------------------------------------------------------------------------------------------

class AuditShow(Params):         # a query string: its numbers come as text
    last: int = Field(20, ge=0)


class Checkpoint(Params):
    """One line of a checkpoint file (``audit.read_checkpoints``), read by the client."""
    id: Int
    hash: str
    at: Optional[str] = None
    mac: str
    line: Int


class AuditVerify(Params):
    anchors: dict[int, str] = Field({}, description="exported heads {entry: hash} (kept for old clients)")
    heads: list[tuple[Optional[Int], str]] = Field([], description="exported heads [entry or null, hash]")
    checkpoints: list[Checkpoint] = Field([], description="the lines of a checkpoint file, as the client read it")


@operation("audit_show", "GET", "/audit", "clerk", AuditShow)
def _audit_show(station, actor, p):
    return office.audit_tail(station, p.last)


@operation("audit_head", "GET", "/audit/head", "clerk", Nothing)
def _audit_head(station, actor, p):
    return office.audit_head(station)


@operation("audit_verify", "POST", "/audit/verify", "clerk", AuditVerify, change=False)
def _audit_verify(station, actor, p):
    problems, count = office.verify_audit(station, p.anchors, heads=p.heads,
                                          checkpoint_lines=[c.model_dump() for c in p.checkpoints])
    return {"problems": problems, "entries": count}


@operation("audit_checkpoint", "POST", "/audit/checkpoint", "supervisor", Nothing)
def _audit_checkpoint(station, actor, p):
    """Append the keyed head to the station's checkpoint target now (the server's own
    ``--checkpoints``; a client cannot name a path on the server)."""
    if not station.checkpoints:
        raise VendError("this station has no checkpoint target: give 'serve --checkpoints PATH' or "
                        "PREPAY_AUDIT_CHECKPOINTS (local mode: 'audit checkpoint --to PATH')")
    line = office.audit_checkpoint(station, station.checkpoints)
    return dict(line, path=audit.checkpoint_path(station.checkpoints))


# Reports --------------------------------------------------------------------------------------------------------

class Days(Params):
    start: datetime.datetime
    end: datetime.datetime


class Month(Params):
    year: int
    month: int = Field(ge=1, le=12)


class MeterDays(Days):
    meter: str


@operation("report_daily", "GET", "/reports/daily", "clerk", Days)
def _report_daily(station, actor, p):
    with station.engine.connect() as conn:
        return reports.daily(conn, p.start, p.end)


@operation("report_settlement", "GET", "/reports/settlement", "clerk", Month)
def _report_settlement(station, actor, p):
    with station.engine.connect() as conn:
        return {"rows": reports.settlement(conn, p.year, p.month), "days": reports.settlement_days(conn)}


@operation("report_meter", "GET", "/reports/meter", "clerk", MeterDays)
def _report_meter(station, actor, p):
    with station.engine.connect() as conn:
        pan, rows = reports.meter_history(conn, p.meter, p.start, p.end)
    return {"meter": pan, "rows": rows}


from host.headend import operations as _headend  # noqa: E402,F401  the head-end's operations join the table


# JSON ------------------------------------------------------------------------------------------------------------

def json_value(value):
    """JSON for what json does not know: the ledger's naive UTC times as ISO 8601 UTC."""
    if isinstance(value, datetime.datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


_UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\Z")
_DATE = re.compile(r"\d{4}-\d\d-\d\d\Z")


def decode(value, key=""):
    """A result as this process would have it: times (keys ``at``, ``*_at``, ``*_from``)
    as naive UTC datetimes, days (``*_on``) as dates. By key, so no typed text turns into a time."""
    if isinstance(value, dict):
        return {k: decode(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v, key) for v in value]
    if isinstance(value, str):
        if (key == "at" or key.endswith(("_at", "_from"))) and _UTC_TIME.match(value):
            return datetime.datetime.fromisoformat(value[:-1])
        if key.endswith("_on") and _DATE.match(value):
            return datetime.date.fromisoformat(value)
    return value


from host.vending import technician  # noqa: E402,F401  the technician's operations join the table
