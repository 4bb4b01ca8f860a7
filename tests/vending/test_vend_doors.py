"""Every vending operation gives the same answer by either door: called in this process
as local mode calls it (the role checked, then ``api.call``), and through the vending
server's HTTP stack (``host.vending.client`` against ``server.create_app``: login, token,
route, role, validation, JSON and back), each on its own identical station with the same
clock, on SQLite and PostgreSQL. Results, refusals and their messages must be equal, and
the two audit trails must say the same (hashes aside: each station's keys differ).

The server is run in this process (Starlette's test client as the transport) so both
stations share the test's clock; ``prepay vend serve`` as its own process is what the CLI,
concurrency and attack tests use. A vending operation without a step here fails the test,
so a new operation cannot miss this check; the head-end's and provisioning's operations
are checked by their own suites."""
import json
import re

from host.vending import api, office, operators
from host.vending.errors import VendError
from vendworld import PASSWORDS, World, pan

OTHER_SUITES = ("headend_", "provision_", "meter_commission")
DIFFER = ("hash", "mac", "prev_hash", "path", "digest", "address")
TOKEN_DIGITS = re.compile(r"\d{20}|\d{4}( \d{4}){4}")
P, NEW = "600727000000000009", pan(5)
DAY = {"start": "2026-05-01T00:00:00", "end": "2026-06-01T00:00:00"}
STATEMENT = "reference,date,account,amount,channel\nTX1,2026-05-04 10:00,%s,20.00,mobile\n" \
            "TX2,2026-05-04,NOBODY,10.00,bank\n" % P

STEPS = [
    ("alice", "station", {}),
    ("root", "operator_add", {"name": "carl", "role": "clerk", "password": "carl-password"}),
    ("root", "operator_disable", {"name": "carl"}),
    ("root", "operator_disable", {"name": "root"}),                     # the last admin: refused
    ("root", "operator_enable", {"name": "carl"}),
    ("root", "operator_add", {"name": "ada", "role": "admin", "password": "ada-password"}),
    ("ada", "station", {}),                                             # waits 24 h: cannot log in
    "25 hours later",
    ("ada", "operator_add", {"name": "sid", "role": "supervisor", "password": "sid-password"}),
    ("ada", "operator_approve", {"name": "sid"}),                       # its maker: refused
    ("root", "operator_approve", {"name": "sid"}),
    ("alice", "operator_add", {"name": "eve", "role": "admin", "password": "eve-password"}),
    ("alice", "operator_list", {}),
    ("root", "key_add", {"sgc": 201457, "krn": 3, "dkga": "04",
                         "key_hex": "00112233445566778899aabbccddeeff00112233"}),
    ("root", "key_add", {"sgc": 201457, "krn": 4, "dkga": "04", "key_hex": "xyz"}),
    ("alice", "key_list", {}),
    ("sam", "tariff_add", {"name": "night", "version": {"blocks": [[None, 150000]], "vat_bp": 800}}),
    ("sam", "tariff_revise", {"name": "night", "version": {"blocks": [[None, 160000]],
                                                           "effective_from": "2026-07-01T00:00:00"}}),
    ("alice", "tariff_list", {}),
    ("alice", "customer_add", {"account": "B-002", "name": "Ngũgĩ wa Thiong'o", "phone": "+254711111111"}),
    ("alice", "customer_show", {"account": "B-002"}),
    ("sam", "debt_set", {"account": "A-001", "debt_cents": 3000, "recovery_bp": 1000}),
    ("sam", "meter_add", {"meter": NEW, "account": "B-002", "sgc": 201457, "ti": 1, "krn": 1,
                          "algorithm": "sta", "base_date": 2014, "tariff": "night"}),
    ("sam", "meter_move", {"meter": NEW, "account": "A-001"}),
    ("sam", "meter_status", {"meter": NEW, "status": "blocked"}),
    ("alice", "meter_show", {"meter": NEW}),
    ("alice", "sell", {"meter": P, "amount_cents": 10000, "channel": "cash", "reference": "R-1"}),
    ("bob", "sell", {"meter": P, "amount_cents": 10000, "channel": "cash", "reference": "R-1"}),   # a retry
    ("alice", "sell", {"meter": NEW, "amount_cents": 1000, "channel": "cash"}),                     # blocked
    ("alice", "sell", {"meter": P, "amount_cents": 1000, "channel": "cash", "operator": "sam"}),    # refused
    ("alice", "reprint", {"meter": P}),
    ("alice", "payments_import", {"name": "statement.csv", "text": STATEMENT, "source": "mpesa"}),
    ("sam", "token_management", {"meter": P, "kind": "power-limit", "value": 5000}),
    ("alice", "token_management", {"meter": P, "kind": "clear-tamper"}),                           # a clerk
    ("sam", "token_key_change", {"meter": P, "krn": 2}),
    ("alice", "token_test", {"control": 0}),
    ("alice", "adjust_request", {"kind": "credit", "reason": "meter fault", "meter": P, "units_tenths": 250}),
    ("alice", "adjust_decide", {"id": 1, "confirm": True}),
    ("sam", "adjust_request", {"kind": "offset", "reason": "paid at the bank", "account": "A-001",
                               "amount_cents": 500}),
    ("sam", "adjust_decide", {"id": 2, "confirm": True}),                                          # his own
    ("sue", "adjust_decide", {"id": 1, "confirm": True}),
    ("sid", "adjust_decide", {"id": 2, "confirm": False}),
    ("alice", "adjust_list", {"pending": False}),
    ("alice", "report_daily", DAY),
    ("alice", "report_settlement", {"year": 2026, "month": 5}),
    ("alice", "report_meter", dict(DAY, meter=P)),
    ("sam", "audit_checkpoint", {}),
    ("alice", "audit_show", {"last": 100}),
    ("alice", "audit_head", {}),
    ("alice", "audit_verify", {}),
]


class Local:
    """As local mode runs an operation: log the operator in, check the role, call."""

    def __init__(self, world):
        self.world = world

    def call(self, name, op, params):
        actor = office.login(self.world.station, name, _password(name))
        operators.require(actor, api.OPERATIONS[op].role)
        result = api.call(self.world.station, actor, op, params)
        result = list(result) if api.OPERATIONS[op].stream else result
        return api.decode(json.loads(json.dumps(result, default=api.json_value)))     # what JSON keeps


class Served:
    """Through the server's HTTP stack, one client (session) per operator."""

    def __init__(self, world):
        from fastapi.testclient import TestClient
        from host.vending import server
        self.app, self.clients = server.create_app(world.station), {}
        self._transport = lambda: TestClient(self.app, base_url="http://door")

    def call(self, name, op, params):
        from host.vending.client import Client
        if name not in self.clients:
            client = Client("http://door")
            client._http.close()
            client._http = self._transport()
            client.login(name, _password(name))
            self.clients[name] = client
        result = self.clients[name].call(op, **params)
        return list(result) if api.OPERATIONS[op].stream else result

    def close(self):
        for client in self.clients.values():
            client.close()
        self.clients = {}


def _password(name):
    return PASSWORDS.get(name) or name + "-password"


def _answer(door, name, op, params):
    """``("ok", result)``, the refusal's kind and message, or ``("invalid", field)`` for
    parameters the operation's model refuses (pydantic here, HTTP 422 there)."""
    from pydantic import ValidationError
    try:
        return ("ok", _comparable(door.call(name, op, dict(params))))
    except ValidationError as exc:
        return ("invalid", ".".join(str(x) for x in exc.errors()[0]["loc"]))
    except VendError as exc:
        if str(exc).startswith("invalid request: "):
            return ("invalid", str(exc).split(": ")[1])
        return (type(exc).__name__, str(exc))


def _comparable(value):
    """Without what differs between two stations by design: the audit chain's hashes and
    MACs (each station has its own audit key and command root), the checkpoint's path, a
    token's digits and the sale digest over them (a credit token carries a random field;
    its TID and value stay), and a failed login's client address (the server knows it)."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k not in DIFFER}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, str) and TOKEN_DIGITS.fullmatch(value):
        return "<20 digits>"
    return value


def _differences(a, b, where=""):
    """Where two answers differ, for the failure message."""
    if isinstance(a, (dict, list, tuple)) and type(a) is type(b):
        keys = set(a) | set(b) if isinstance(a, dict) else range(max(len(a), len(b)))
        for k in keys:
            try:
                x, y = a[k], b[k]
            except (KeyError, IndexError):
                yield "%s/%s: only one side has it" % (where, k)
                continue
            yield from _differences(x, y, "%s/%s" % (where, k))
    elif a != b:
        yield "%s: %r != %r" % (where, a, b)


def test_every_operation_has_a_step():
    stepped = {step[1] for step in STEPS if isinstance(step, tuple)}
    ours = {name for name in api.OPERATIONS if not name.startswith(OTHER_SUITES)}
    assert ours - stepped == set(), "give these operations a step: %s" % sorted(ours - stepped)


def test_both_doors_answer_alike(db_url, request, tmp_path):
    other_url = (request.getfixturevalue("pg_server").new_database() if "://" in db_url
                 else str(tmp_path / "served.db"))
    here, there = World(db_url, meters=2), World(other_url, meters=2)
    here.station.checkpoints, there.station.checkpoints = str(tmp_path / "here.jsonl"), str(tmp_path / "there.jsonl")
    local, served = Local(here), Served(there)
    try:
        for step in STEPS:
            if step == "25 hours later":
                for world in (here, there):
                    world.clock.advance(hours=25)
                assert _answer(served, "root", "station", {})[1].endswith("log in again")   # 8 h sessions
                served.close()
                continue
            name, op, params = step
            mine, theirs = _answer(local, name, op, params), _answer(served, name, op, params)
            assert mine == theirs, (step, list(_differences(mine, theirs)))
        verified = [_answer(door, "alice", "audit_verify", {}) for door in (local, served)]
        assert verified[0] == verified[1] and verified[0][1]["problems"] == []      # both intact, as long
        assert verified[0][1]["entries"] > len(STEPS) // 2
    finally:
        served.close()
        for world in (here, there):
            world.station.close()
            world.engine.dispose()
