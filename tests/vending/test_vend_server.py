"""The vending server as the trust boundary (issue 14): every route refuses a caller without
a token or without its role (the table comes from the server's own route list, so a new
route cannot be left out), sessions (one per operator, revoked by a new login, a logout or
a disable, expiring), failed logins audited and throttled, and the attacks a clerk could
try through the server: read the key store, act as another operator, confirm their own
adjustment. The server runs as ``prepay vend serve`` on a loopback port."""
import hashlib
import json
import os

import httpx
import pytest
from sqlalchemy import func, select

from host.vending import api, audit, office, operators, schema, server
from vendserver import VendServer
from vendworld import PASSPHRASE, PASSWORDS, VK_DKGA02, VK_DKGA04, VK_DKGA04_KRN2, World

ROLES = operators.ROLES
BY_ROLE = {"clerk": "alice", "supervisor": "sam", "admin": "root", "technician": "tom"}


@pytest.fixture
def served(db_url, tmp_path):
    world = World(db_url)
    running = VendServer(db_url, PASSPHRASE, tmp_path).start()
    yield world, running
    running.stop()
    world.engine.dispose()


def add_technician(world):
    """tom, a technician: provisions meters and nothing else."""
    with world.station.begin() as conn:
        op_id = operators.add(conn, "tom", "technician", "tom-password", world.clock())
        audit.append(world.station, conn, world.clock(), "-", "test_technician", "tom", {},
                     rows=[(schema.operators, op_id)])


def login(url, name):
    answer = httpx.post(url + "/api/login", json={"operator": name,
                                                  "password": PASSWORDS.get(name, name + "-password")})
    assert answer.status_code == 200, answer.text
    return {"Authorization": "Bearer " + answer.json()["token"]}


def audit_count(world, action=None):
    log = schema.audit_log
    query = select(func.count()).select_from(log)
    if action:
        query = query.where(log.c.action == action)
    with world.engine.connect() as conn:
        return conn.execute(query).scalar()


def test_route_table_is_the_servers_own_and_in_the_docs(world):
    routes = server.route_roles(server.create_app(world.station))
    listed = {(m, p) for m, p, _ in routes}
    for op in api.OPERATIONS.values():
        assert (op.method, op.path) in listed
    assert [r for r in routes if r[2] is None] == [("POST", "/api/login", None)]
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "vending.md"), encoding="utf-8") as f:
        assert server.route_table(routes) in f.read()


def test_every_route_refuses_callers_without_a_token_or_the_role(served):
    world, running = served
    url = running.url
    add_technician(world)
    tokens = {role: login(url, name) for role, name in BY_ROLE.items()}
    routes = server.route_roles(server.create_app(world.station))
    before = audit_count(world)
    for method, path, role in routes:
        if role is None:
            continue
        kw = {"json": {}} if method == "POST" else {}
        for headers in ({}, {"Authorization": "Bearer forged-token"}, {"Authorization": "Basic YWxpY2U6eA=="}):
            answer = httpx.request(method, url + path, headers=headers, **kw)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert "error" in answer.json()
        for lower in [r for r in ROLES if not operators.role_at_least(r, role)]:
            answer = httpx.request(method, url + path, headers=tokens[lower], **kw)
            assert answer.status_code == 403, (method, path, lower, answer.text)
            assert "needs a %s" % role in answer.json()["error"]
    technician = [(m, p) for m, p, role in routes if role and operators.role_at_least("technician", role)]
    assert sorted(technician) == [("POST", "/api/logout"), ("POST", "/api/meters/commission"),
                                  ("POST", "/api/provisioning/keys")]      # nothing that sells or adjusts
    assert audit_count(world) == before          # nothing refused was done


def test_one_token_per_operator_revoked_by_login_logout_and_disable(served):
    world, running = served
    url = running.url
    first = login(url, "alice")
    second = login(url, "alice")
    assert httpx.get(url + "/api/station", headers=first).status_code == 401
    assert httpx.get(url + "/api/station", headers=second).status_code == 200
    assert httpx.post(url + "/api/logout", headers=second).status_code == 200
    assert httpx.get(url + "/api/station", headers=second).status_code == 401
    clerk, admin = login(url, "bob"), login(url, "root")
    answer = httpx.post(url + "/api/operators/disable", headers=admin, json={"name": "bob"})
    assert answer.status_code == 200, answer.text
    assert httpx.get(url + "/api/station", headers=clerk).status_code == 401
    answer = httpx.post(url + "/api/login", json={"operator": "bob", "password": PASSWORDS["bob"]})
    assert answer.status_code == 401


def test_sessions_expire_and_keep_only_the_tokens_hash(world):
    sessions = server.Sessions(world.station, seconds=60)
    token = sessions.open(world.ops["alice"], "192.0.2.7")
    assert sessions.operator(token)["name"] == "alice"
    assert sessions.operator(token + "x") is None
    with world.engine.connect() as conn:
        rows = conn.execute(select(schema.operator_sessions)).mappings().all()
    assert len(rows) == 1 and rows[0]["address"] == "192.0.2.7"
    assert token not in repr(rows) and rows[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    world.clock.advance(seconds=59)
    assert sessions.operator(token)["name"] == "alice"
    world.clock.advance(seconds=1)
    assert sessions.operator(token) is None


def test_sessions_survive_a_restart_and_a_local_disable_revokes_them(served, tmp_path):
    world, running = served
    alice, bob = login(running.url, "alice"), login(running.url, "bob")
    running.stop()
    again = VendServer(world.url, PASSPHRASE, tmp_path).start()
    try:
        answer = httpx.get(again.url + "/api/station", headers=alice)
        assert answer.status_code == 200, answer.text
        office.disable_operator(world.station, world.ops["root"], "bob")    # on the server machine
        assert httpx.get(again.url + "/api/station", headers=bob).status_code == 401
        assert httpx.get(again.url + "/api/station", headers=alice).status_code == 200
    finally:
        again.stop()


def test_failed_logins_are_audited_and_throttled_per_operator_and_address(served):
    world, running = served
    url = running.url
    for _ in range(operators.FREE_FAILURES):
        answer = httpx.post(url + "/api/login", json={"operator": "alice", "password": "wrong password"})
        assert answer.status_code == 401 and "wrong password" in answer.json()["error"]
    assert audit_count(world, "login_failed") == operators.FREE_FAILURES
    with world.engine.connect() as conn:
        addresses = conn.execute(select(schema.audit_log.c.payload).where(
            schema.audit_log.c.action == "login_failed")).scalars().all()
    assert all(json.loads(p)["address"] == "127.0.0.1" for p in addresses)
    for name in ("alice", "sam"):     # the right password waits too; sam: the address is throttled
        answer = httpx.post(url + "/api/login", json={"operator": name, "password": PASSWORDS[name]})
        assert answer.status_code == 429 and "too many failed logins" in answer.json()["error"], answer.text


def test_a_clerk_through_the_server_cannot_read_the_key_store(served):
    world, running = served
    url = running.url
    clerk, admin = login(url, "alice"), login(url, "root")
    answer = httpx.post(url + "/api/keys", headers=clerk, json={"sgc": 1, "krn": 1, "dkga": "04", "key_hex": "00"})
    assert answer.status_code == 403
    httpx.post(url + "/api/sales", headers=clerk, json={"meter": world.pans[0], "amount_cents": 1000,
                                                         "channel": "cash"}).raise_for_status()
    seen = []
    for op in api.OPERATIONS.values():
        if op.method == "GET":
            for who in (clerk, admin):
                seen.append(httpx.get(url + op.path, headers=who, params=_example(op, world)).content)
    seen.append(httpx.get(url + "/openapi.json").content)
    with open(os.path.join(running.log_dir, "server.log"), "rb") as log:
        seen.append(log.read())
    for key in (VK_DKGA04, VK_DKGA04_KRN2, VK_DKGA02, world.decoder_key(world.pans[0])):
        for needle in (key, key.hex().encode(), key.hex().upper().encode()):
            assert not any(needle in blob for blob in seen)
    assert PASSPHRASE.encode() not in b"".join(seen)


def _example(op, world):
    """Parameters that make each read answer (not a 422)."""
    return {"customer_show": {"account": "A-001"}, "meter_show": {"meter": world.pans[0]},
            "report_daily": {"start": "2026-01-01T00:00:00", "end": "2027-01-01T00:00:00"},
            "report_meter": {"meter": world.pans[0], "start": "2026-01-01T00:00:00", "end": "2027-01-01T00:00:00"},
            "report_settlement": {"year": 2026, "month": 5}}.get(op.name, {})


def test_a_clerk_cannot_act_as_another_operator(served):
    world, running = served
    url = running.url
    clerk = login(url, "alice")
    sale = {"meter": world.pans[0], "amount_cents": 1000, "channel": "cash"}
    for forged in ({"operator": "sam"}, {"actor": {"name": "sam", "role": "admin"}}, {"operator_id": 1}):
        answer = httpx.post(url + "/api/sales", headers=clerk, json=dict(sale, **forged))
        assert answer.status_code == 422 and "invalid request" in answer.json()["error"]
    answer = httpx.post(url + "/api/login", json={"operator": "sam", "password": PASSWORDS["alice"]})
    assert answer.status_code == 401
    done = httpx.post(url + "/api/sales", headers=clerk, json=sale)
    assert done.status_code == 200 and done.json()["operator"] == "alice"
    with world.engine.connect() as conn:
        row = conn.execute(select(schema.audit_log.c.operator).where(schema.audit_log.c.action == "sale")).first()
    assert row.operator == "alice"


def test_no_one_confirms_their_own_adjustment(served):
    world, running = served
    url = running.url
    clerk, sam, sue = login(url, "alice"), login(url, "sam"), login(url, "sue")
    request = {"kind": "credit", "meter": world.pans[0], "units_tenths": 250, "reason": "meter fault"}
    mine = httpx.post(url + "/api/adjustments", headers=clerk, json=request).json()["id"]
    answer = httpx.post(url + "/api/adjustments/decide", headers=clerk, json={"id": mine, "confirm": True})
    assert answer.status_code == 403
    own = httpx.post(url + "/api/adjustments", headers=sam, json=request).json()["id"]
    answer = httpx.post(url + "/api/adjustments/decide", headers=sam, json={"id": own, "confirm": True})
    assert answer.status_code == 403 and "another supervisor" in answer.json()["error"]
    answer = httpx.post(url + "/api/adjustments/decide", headers=sue, json={"id": own, "confirm": True})
    assert answer.status_code == 200 and json.loads(answer.text)["status"] == "confirmed"


def test_an_admin_cannot_engineer_a_confirmation_through_the_server(served):
    """An admin who requests credit and makes a second supervisor account to confirm it:
    on a one-admin station the new account waits (and its creation is audited), so it
    cannot log in to confirm."""
    world, running = served
    url = running.url
    root = login(url, "root")
    request = {"kind": "credit", "meter": world.pans[0], "units_tenths": 5000, "reason": "goodwill"}
    mine = httpx.post(url + "/api/adjustments", headers=root, json=request).json()["id"]
    answer = httpx.post(url + "/api/adjustments/decide", headers=root, json={"id": mine, "confirm": True})
    assert answer.status_code == 403
    made = httpx.post(url + "/api/operators", headers=root,
                      json={"name": "sock", "role": "supervisor", "password": "sock-password"})
    assert made.status_code == 200 and "waiting period" in made.json()["state"], made.text
    answer = httpx.post(url + "/api/login", json={"operator": "sock", "password": "sock-password"})
    assert answer.status_code == 401
    answer = httpx.post(url + "/api/operators/approve", headers=root, json={"name": "sock"})
    assert answer.status_code == 403 and "another admin" in answer.json()["error"]
    assert audit_count(world, "operator_add") >= 1
    rows = httpx.get(url + "/api/adjustments", headers=root, params={"pending": "true"}).json()
    assert [r["id"] for r in rows] == [mine]


def test_edits_truncation_and_rewriting_show_through_the_server(db_url, tmp_path, monkeypatch):
    """The audit attacks, checked by a clerk through the server against a head they
    exported and the checkpoints the server wrote: an edited adjustment, role, debt or
    last_tid; the last entry removed; the whole chain rewritten."""
    from sqlalchemy import delete, update
    from host.vending import audit, db
    world = World(db_url)
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    monkeypatch.setenv("PREPAY_AUDIT_CHECKPOINTS", str(checkpoints))
    running = VendServer(db_url, PASSPHRASE, tmp_path).start()
    try:
        url = running.url
        clerk, sam, sue = login(url, "alice"), login(url, "sam"), login(url, "sue")
        sale = {"meter": world.pans[0], "amount_cents": 1000, "channel": "cash"}
        httpx.post(url + "/api/sales", headers=clerk, json=sale).raise_for_status()
        httpx.post(url + "/api/debt", headers=sam, json={"account": "A-001", "debt_cents": 3000,
                                                          "recovery_bp": 1000}).raise_for_status()
        adj = httpx.post(url + "/api/adjustments", headers=clerk, json={
            "kind": "offset", "account": "A-001", "amount_cents": 500, "reason": "paid at the bank"}).json()["id"]
        httpx.post(url + "/api/adjustments/decide", headers=sue, json={"id": adj, "confirm": True}).raise_for_status()
        httpx.post(url + "/api/reprints", headers=clerk, json={"meter": world.pans[0]}).raise_for_status()
        head = httpx.get(url + "/api/audit/head", headers=clerk).json()
        lines = audit.read_checkpoints(str(checkpoints))
        assert lines[-1]["id"] == head["id"]

        def problems(**anchors):
            body = {"heads": anchors.get("heads", []), "checkpoints": anchors.get("checkpoints", [])}
            answer = httpx.post(url + "/api/audit/verify", headers=clerk, json=body, timeout=120)
            assert answer.status_code == 200, answer.text
            return answer.json()["problems"]

        assert problems(heads=[[head["id"], head["hash"]]], checkpoints=lines) == []
        m, c, o, a = schema.meters, schema.customers, schema.operators, schema.adjustments
        for statement, said in [
                (update(m).where(m.c.pan == world.pans[0]).values(last_tid=0), "meter %s differs" % world.pans[0]),
                (update(c).where(c.c.account == "A-001").values(debt_cents=0), "customer A-001 differs"),
                (update(o).where(o.c.name == "alice").values(role="admin"), "operator alice differs"),
                (update(a).where(a.c.id == adj).values(amount_cents=90000), "adjustment %d differs" % adj)]:
            table = statement.table
            with world.engine.connect() as conn:
                before = [dict(r) for r in conn.execute(select(table)).mappings()]
            with db.begin_write(world.engine) as conn:
                conn.execute(statement)
            assert any(said in x for x in problems()), said
            with db.begin_write(world.engine) as conn:
                key = list(table.primary_key.columns)[0]
                for row in before:
                    conn.execute(update(table).where(key == row[key.name]).values(**row))
            assert problems() == []

        log = schema.audit_log          # the reprint's entry removed, the head moved back
        with db.begin_write(world.engine) as conn:
            last = conn.execute(select(log).order_by(log.c.id.desc()).limit(1)).mappings().first()
            assert last["action"] == "reprint"
            conn.execute(delete(log).where(log.c.id == last["id"]))
            conn.execute(update(schema.audit_head).values(last_id=last["id"] - 1, last_hash=last["prev_hash"]))
        assert problems() == []                                   # nothing in the database shows it
        assert any("not in the chain" in x for x in problems(heads=[[head["id"], head["hash"]]]))
        assert any("not in the chain" in x for x in problems(heads=[[None, head["hash"]]]))
        assert any("not in the chain" in x for x in problems(checkpoints=lines))

        with db.begin_write(world.engine) as conn:    # every entry rewritten, hashes consistent
            prev = audit.GENESIS
            for row in conn.execute(select(log).order_by(log.c.id)).mappings().all():
                payload = '{"rewritten":true}' if row["id"] == 2 else row["payload"]
                digest = audit.entry_hash(prev, row["id"], row["at"], row["operator"], row["action"],
                                          row["subject"], payload, row["state"])
                conn.execute(update(log).where(log.c.id == row["id"]).values(
                    payload=payload, prev_hash=prev, hash=digest, mac="0" * 64))
                prev = digest
            conn.execute(update(schema.audit_head).values(last_hash=prev))
        found = problems(checkpoints=lines[:2])
        assert any("does not carry the audit key's MAC" in x for x in found)
        assert any("no longer has the hash of the checkpoint" in x for x in found), found
    finally:
        running.stop()
        world.engine.dispose()
