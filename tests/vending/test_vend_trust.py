"""Issue 14's trust half, played as an attacker with the database's own tools: the keyed
audit trail against edits, truncation and a rebuilt chain (with exported heads and
checkpoints), separation of duties among operators, login throttling, the key custody in
a PKCS#11 module (SoftHSM2), and hardening defaults."""
import datetime
import os
import stat

import pytest
from sqlalchemy import delete, select, update

from host.vending import adjustments, audit, bootstrap, db, office, operators, receipts, sales, schema
from host.vending.errors import PermissionDenied, VendError


def verify(world, heads=(), checkpoints=None):
    return office.verify_audit(world.station, heads=heads, checkpoints=checkpoints)[0]


def edit(world, statement):
    """A change made straight in the database, as someone holding its credentials would."""
    with db.begin_write(world.engine) as conn:
        conn.execute(statement)


def test_every_watched_edit_is_detected(world):
    p = world.pans[0]
    sales.sell(world.station, world.ops["alice"], p, 1000, "cash")
    adj = adjustments.request(world.station, world.ops["alice"], "offset", "paid at the bank", account="A-001",
                              amount_cents=500)
    adjustments.decide(world.station, world.ops["sam"], adj["id"], True)
    office.set_debt(world.station, world.ops["sam"], "A-001", 2000, 1000)
    assert verify(world) == []
    m, c, o, a = schema.meters, schema.customers, schema.operators, schema.adjustments
    for statement, said in [
        (update(m).where(m.c.pan == p).values(last_tid=0), "meter %s differs" % p),
        (update(c).where(c.c.account == "A-001").values(debt_cents=0), "customer A-001 differs"),
        (update(o).where(o.c.name == "alice").values(role="admin"), "operator alice differs"),
        (update(a).where(a.c.id == adj["id"]).values(amount_cents=50000), "adjustment %d differs" % adj["id"]),
        (update(a).where(a.c.id == adj["id"]).values(confirmed_by=world.ops["alice"]["id"]),
         "adjustment %d differs" % adj["id"]),
        (update(schema.vending_keys).where(schema.vending_keys.c.krn == 2).values(expires_on=None,
                                                                                 nonce="00" * 12),
         "vending key SGC 201457 KRN 2 differs"),
    ]:
        with world.engine.connect() as conn:
            table = statement.table
            before = [dict(r) for r in conn.execute(select(table)).mappings()]
        edit(world, statement)
        problems = verify(world)
        assert any(said in x for x in problems), (said, problems)
        with db.begin_write(world.engine) as conn:          # put it back for the next attack
            for row in before:
                key = list(table.primary_key.columns)[0]
                conn.execute(update(table).where(key == row[key.name]).values(**row))
        assert verify(world) == []
    edit(world, schema.operators.insert().values(name="mallory", role="admin", password_hash="x", active=1,
                                                 created_at=world.clock(), approved_at=world.clock()))
    assert any("operator mallory has no audit entry" in x for x in verify(world))


def test_truncation_and_rebuilt_chain_against_exported_head_and_checkpoints(world, tmp_path):
    world.station.checkpoints = str(tmp_path)        # a folder: prepay-audit-checkpoints.jsonl
    for _ in range(2):
        sales.sell(world.station, world.ops["alice"], world.pans[0], 1000, "cash")
    meter_before = world.meter(world.pans[0])
    sales.sell(world.station, world.ops["alice"], world.pans[0], 1000, "cash")
    exported = audit.parse_head(audit.printable(office.audit_head(world.station)))
    lines = audit.read_checkpoints(str(tmp_path))
    assert len(lines) == 3 and lines[-1]["id"] == exported[0]
    assert verify(world, heads=[exported], checkpoints=str(tmp_path)) == []
    assert oct(os.stat(audit.checkpoint_path(str(tmp_path))).st_mode & 0o777) == "0o600"

    # Truncate: delete the last sale's entry and move the head back: consistent on its own.
    log = schema.audit_log
    with db.begin_write(world.engine) as conn:
        last = conn.execute(select(log).order_by(log.c.id.desc()).limit(1)).mappings().first()
        sale_id = int(last["subject"])
        conn.execute(delete(schema.tokens).where(schema.tokens.c.sale_id == sale_id))
        conn.execute(delete(schema.sales).where(schema.sales.c.id == sale_id))
        conn.execute(delete(log).where(log.c.id == last["id"]))
        conn.execute(update(schema.audit_head).values(last_id=last["id"] - 1, last_hash=last["prev_hash"]))
        conn.execute(update(schema.meters).where(schema.meters.c.id == meter_before["id"]).values(**meter_before))
    assert verify(world) == []                        # nothing inside the database shows it ...
    problems = verify(world, heads=[exported])        # ... the exported head does
    assert any("not in the chain" in x for x in problems)
    assert any("not in the chain" in x for x in verify(world, checkpoints=str(tmp_path)))
    assert any("not in the chain" in x for x in verify(world, heads=[(None, exported[1])]))

    # Rebuild the whole chain with consistent hashes (and MACs made up without the key).
    with db.begin_write(world.engine) as conn:
        prev = audit.GENESIS
        for row in conn.execute(select(log).order_by(log.c.id)).mappings().all():
            payload = '{"rewritten":true}' if row["id"] == 2 else row["payload"]
            digest = audit.entry_hash(prev, row["id"], row["at"], row["operator"], row["action"],
                                      row["subject"], payload, row["state"])
            conn.execute(update(log).where(log.c.id == row["id"]).values(payload=payload, prev_hash=prev,
                                                                         hash=digest, mac="0" * 64))
            prev = digest
        conn.execute(update(schema.audit_head).values(last_hash=prev))
    problems = verify(world, checkpoints=str(tmp_path))
    assert any("does not carry the audit key's MAC" in x for x in problems)
    assert any("checkpoint of line 1 is not" in x or "no longer has the hash of the checkpoint" in x
               for x in problems)


def test_a_forged_checkpoint_line_is_refused(world, tmp_path):
    target = tmp_path / "cp.jsonl"
    audit.write_checkpoint(world.station, str(target))
    text = target.read_text().replace('"id":2', '"id":1')
    target.write_text(text)
    assert any("not written with this station's audit key" in x for x in verify(world, checkpoints=str(target)))


def test_separation_of_duties(world):
    w, root = world.station, world.ops["root"]
    wait = datetime.timedelta(seconds=operators.DEFAULT_APPROVAL_WAIT_S)
    # One admin: a new supervisor waits, audited; the lone admin cannot approve it early.
    done = office.add_operator(w, root, "eve", "supervisor", "eve-password")
    assert done["approved_by"] == "wait" and done["usable_from"] == world.clock() + wait
    with pytest.raises(VendError, match="unknown name or wrong password"):
        office.login(w, "eve", "eve-password")
    with pytest.raises(PermissionDenied):
        office.approve_operator(w, root, "eve")
    world.clock.advance(seconds=operators.DEFAULT_APPROVAL_WAIT_S)
    assert office.login(w, "eve", "eve-password", "supervisor")["name"] == "eve"
    # Two admins: a new admin waits for the second one's approval, without a deadline.
    office.add_operator(w, root, "ada", "admin", "ada-password")
    world.clock.advance(seconds=operators.DEFAULT_APPROVAL_WAIT_S)    # the waiting period ...
    office.add_operator(w, root, "max", "admin", "max-password")      # ... made ada an admin: two now
    world.clock.advance(days=30)
    with pytest.raises(VendError):
        office.login(w, "max", "max-password")
    ada = office.login(w, "ada", "ada-password", "admin")
    office.approve_operator(w, ada, "max")
    assert office.login(w, "max", "max-password", "admin")["name"] == "max"
    # A clerk works at once; the last usable admin cannot be disabled; enable exists.
    office.add_operator(w, root, "carl", "clerk", "carl-password")
    assert office.login(w, "carl", "carl-password")["name"] == "carl"
    max_ = office.login(w, "max", "max-password", "admin")
    office.disable_operator(w, max_, "root")
    office.disable_operator(w, max_, "ada")
    with pytest.raises(VendError, match="last active admin"):
        office.disable_operator(w, max_, "max")
    office.enable_operator(w, max_, "ada")           # re-enabled admin: approval again
    with pytest.raises(VendError):
        office.login(w, "ada", "ada-password")
    actions = [e["action"] for e in office.audit_tail(w, 50)["entries"]]
    for action in ("operator_add", "operator_approve", "operator_disable", "operator_enable"):
        assert action in actions
    assert verify(world) == []


def test_failed_logins_are_throttled_and_audited(world):
    w = world.station
    for _ in range(operators.FREE_FAILURES):
        with pytest.raises(VendError, match="wrong password"):
            office.login(w, "alice", "guess", address="10.0.0.9")
    with pytest.raises(VendError, match="too many failed logins"):
        office.login(w, "alice", "alice-password")                # even the right password waits
    with pytest.raises(VendError, match="too many failed logins"):
        office.login(w, "bob", "bob-password", address="10.0.0.9")  # and so does the address
    world.clock.advance(seconds=operators.BLOCK_S + 1)
    assert office.login(w, "alice", "alice-password")["name"] == "alice"
    failed = [e for e in office.audit_tail(w, 50)["entries"] if e["action"] == "login_failed"]
    assert len(failed) == operators.FREE_FAILURES and failed[-1]["payload"]["blocked_until"]
    assert verify(world) == []


def test_station_strength_defaults(monkeypatch):
    monkeypatch.undo()                                 # the module's own values, not the tests'
    from host.vending import keystore as k, operators as o
    assert k.SCRYPT == {"n": 2 ** 17, "r": 8, "p": 1} == o.SCRYPT
    assert o.hash_password("a password", {"n": 2 ** 17, "r": 8, "p": 1}).startswith("scrypt$131072$8$1$")


def test_files_are_the_owners_only(tmp_path):
    from vendworld import PASSPHRASE
    path = tmp_path / "new" / "vending.db"
    engine = db.make_engine(str(path), create_dir=True)
    bootstrap.init(engine, PASSPHRASE, "UTC", datetime.datetime(2026, 5, 4))
    engine.dispose()
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    for name in os.listdir(path.parent):
        assert stat.S_IMODE(os.stat(path.parent / name).st_mode) == 0o600, name


def test_receipts_are_the_owners_only(world, tmp_path):
    sold = sales.sell(world.station, world.ops["alice"], world.pans[0], 1000, "cash")
    for name in ("r.txt", "r.pdf"):
        (tmp_path / name).write_text("old")
        os.chmod(tmp_path / name, 0o644)
        assert receipts.save(sold, str(tmp_path / name)) == []
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600


SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"     # the softhsm fixture: conftest.py


def test_pkcs11_custody_sells_tokens_the_meter_decodes(db_url, softhsm, monkeypatch):
    from tokens import keys, sts
    from vendworld import Clock, VK_DKGA04, VK_DKGA02
    from host.vending.station import Station
    monkeypatch.setenv("PREPAY_PKCS11_PIN", "4321")
    engine = db.make_engine(db_url, create_dir=True)
    clock = Clock()
    done = bootstrap.init(engine, None, "UTC", clock(), module_uri=softhsm, approval_wait_s=0)
    assert done["custody"] == "pkcs11"
    station = Station(engine, None, clock=clock)
    office.add_operator(station, None, "root", "admin", "root-password")
    root = office.login(station, "root", "root-password", "admin")
    sgc, krn = 201457 + (1 if "postgresql" in db_url else 0), 1      # one token for every test
    office.add_vending_key(station, root, sgc, krn, "04", VK_DKGA04)
    with pytest.raises(VendError, match="DKGA02"):
        office.add_vending_key(station, root, 123456, 1, "02", VK_DKGA02)
    office.add_tariff(station, root, "home", {"blocks": [(None, 250000)], "vat_bp": 1600})
    office.add_customer(station, root, "A-001", "Jane Doe")
    pan = "600727000000000009"
    office.add_meter(station, root, pan, "A-001", sgc, 1, krn, 2, "sta", 2014, "electricity", "home")
    sold = sales.sell(station, root, pan, 10000, "cash")
    dk = keys.dkga04(VK_DKGA04, pan, sgc, 1, krn, 2, 2014, "sta")        # the meter's key
    decoded = sts.decode(sold["tokens"][0]["digits"], dk, "sta")
    assert decoded.tid == sold["tid"]
    with engine.connect() as conn:
        row = conn.execute(select(schema.vending_keys)).mappings().first()
        assert row["ciphertext"].startswith("pkcs11:") and row["nonce"] == ""
        assert VK_DKGA04.hex() not in str(dict(row))
    assert office.verify_audit(station)[0] == []
    # The key in the token cannot be read out.
    import pkcs11
    from pkcs11 import Attribute
    lib = pkcs11.lib(SOFTHSM)
    with lib.get_token(token_label="prepay-test").open() as session:     # the station's login holds
        obj = next(session.get_objects({Attribute.LABEL: keystore_label(sgc, krn)}))
        assert obj[Attribute.EXTRACTABLE] is False and obj[Attribute.SENSITIVE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            obj[Attribute.VALUE]
    # A wrong PIN is one line.
    station.close()
    monkeypatch.setenv("PREPAY_PKCS11_PIN", "0000")
    with pytest.raises(VendError, match="wrong PIN"):
        Station(engine, None, clock=clock).custody()
    engine.dispose()


def keystore_label(sgc, krn):
    from host.vending.pkcs11store import VK_LABEL
    return VK_LABEL % (sgc, krn)
