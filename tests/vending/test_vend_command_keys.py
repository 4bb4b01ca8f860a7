"""The custody's command root for online meters (docs/mqtt.md, "Keys"): each meter's
command key is HMAC-SHA-256(root, "prepay-command-key\\n" + PAN) and its broker password
the first 32 hex digits of HMAC-SHA-256(root, "prepay-broker\\n" + PAN); the root is made
once per station (at init, or at first use on an older station), sealed at rest (AES-GCM)
or kept in the PKCS#11 module, and recorded by the audit trail."""
import hashlib
import hmac
import json

import pytest
from sqlalchemy import insert, select, update

from host.vending import audit, bootstrap, db, keystore, office, schema
from host.vending.db import upgrade_head
from host.vending.errors import VendError
from host.vending.station import Station
from vendworld import PASSPHRASE, Clock, pan

PAN = "600727000000000009"


def opened_root(engine, secret=PASSPHRASE):
    """The AES-GCM root opened here by hand with the KEK: the test's own check of the
    derivations (the station never hands the root out)."""
    with engine.connect() as conn:
        rec = keystore.record(conn)
        sealed = json.loads(keystore.command_root_value(conn))
    kek = keystore.scrypt(secret, bytes.fromhex(rec["salt"]), rec)
    return keystore._aesgcm(kek).decrypt(bytes.fromhex(sealed["nonce"]), bytes.fromhex(sealed["ciphertext"]),
                                         keystore.COMMAND_ROOT_AAD)


def expected(root, pan_text):
    key = hmac.new(root, b"prepay-command-key\n" + pan_text.encode(), hashlib.sha256).digest()
    password = hmac.new(root, b"prepay-broker\n" + pan_text.encode(), hashlib.sha256).hexdigest()[:32]
    return key, password


def audit_actions(engine):
    with engine.connect() as conn:
        return [r.action for r in conn.execute(select(schema.audit_log.c.action).order_by(schema.audit_log.c.id))]


def test_init_makes_a_sealed_root_and_the_keys_follow_the_contract(world):
    station, engine = world.station, world.engine
    root = opened_root(engine)
    assert len(root) == 32
    key, password = station.command_key(PAN), station.broker_password(PAN)
    assert (key, password) == expected(root, PAN)
    assert len(key) == 32 and len(password) == 32 and int(password, 16) >= 0
    other = pan(7)
    assert station.command_key(other) != key and station.broker_password(other) != password
    assert station.command_key("6007 2700 0000 0000 09") == key          # the PAN's canonical digits
    with pytest.raises(VendError, match="check digit"):
        station.command_key("600727000000000008")
    # Another process with the passphrase derives the same keys; the database holds no clear root.
    again = Station(engine, PASSPHRASE, clock=world.clock)
    assert again.command_key(PAN) == key and again.custody().broker_password(PAN) == password
    again.close()
    with engine.connect() as conn:
        dump = repr([tuple(r) for r in conn.execute(select(schema.settings))])
    for secret in (root.hex(), key.hex(), password):
        assert secret not in dump
    with engine.connect() as conn:       # made and recorded by init's own entry
        state = conn.execute(select(schema.audit_log.c.state).where(schema.audit_log.c.action == "init")).scalar()
    assert "settings:command_root" in json.loads(state)
    assert office.verify_audit(station)[0] == []
    assert root.hex() not in repr(station.custody()) + repr(station)


def test_a_station_from_before_online_meters_makes_its_root_at_first_use(db_url):
    """Set up as init did before the command root: the first derivation makes it, with its
    audit entry, once, whichever of two stations asks first; init later leaves it alone."""
    engine = db.make_engine(db_url, create_dir=True)
    clock = Clock()
    upgrade_head(engine)
    rec, custody = keystore.new_record(PASSPHRASE)
    old = Station(engine, PASSPHRASE, clock=clock, custody=custody)
    with old.begin() as conn:               # init as it was
        keystore.save_record(conn, rec)
        conn.execute(insert(schema.settings), [{"key": "timezone", "value": "UTC"},
                                               {"key": "approval_wait_s", "value": "0"}])
        audit.append(old, conn, clock(), "-", "init", "station", {}, rows=audit.watched_rows(conn))
    with engine.connect() as conn:
        assert keystore.command_root_value(conn) is None
    first, second = Station(engine, PASSPHRASE, clock=clock), Station(engine, PASSPHRASE, clock=clock)
    second.custody()                        # unlocked before the root exists
    key = first.command_key(PAN)
    assert second.command_key(PAN) == key and old.command_key(PAN) == key
    assert audit_actions(engine).count("command_root") == 1
    assert expected(opened_root(engine), PAN)[0] == key
    done = bootstrap.init(engine, PASSPHRASE, None, clock())
    assert "command_root" not in done and audit_actions(engine).count("command_root") == 1
    assert office.verify_audit(first)[0] == []
    for s in (old, first, second):
        s.close()
    engine.dispose()


def test_a_damaged_or_replaced_root_is_refused_and_the_audit_shows_it(world):
    engine = world.engine
    with engine.connect() as conn:
        sealed = json.loads(keystore.command_root_value(conn))
    sealed["ciphertext"] = ("00" if sealed["ciphertext"][:2] != "00" else "11") + sealed["ciphertext"][2:]
    with db.begin_write(engine) as conn:
        conn.execute(update(schema.settings).where(schema.settings.c.key == "command_root")
                     .values(value=json.dumps(sealed, sort_keys=True)))
    with pytest.raises(VendError, match="command root cannot be opened"):
        Station(engine, PASSPHRASE, clock=world.clock).custody()
    problems = audit.verify(engine.connect(), world.station.custody())[0]
    assert any("setting command_root" in p for p in problems)


def test_pkcs11_root_is_non_extractable_and_derives_inside_the_module(db_url, softhsm, monkeypatch):
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass
    from host.vending.pkcs11store import COMMAND_ROOT_LABEL
    monkeypatch.setenv("PREPAY_PKCS11_PIN", "4321")
    engine = db.make_engine(db_url, create_dir=True)
    clock = Clock()
    done = bootstrap.init(engine, None, "UTC", clock(), module_uri=softhsm, approval_wait_s=0)
    assert done["custody"] == "pkcs11" and done["command_root"] == "created"
    station = Station(engine, None, clock=clock)
    key, password = station.command_key(PAN), station.broker_password(PAN)
    assert len(key) == 32 and len(password) == 32 and key.hex()[:32] != password
    assert station.command_key(pan(7)) != key
    with engine.connect() as conn:
        named = json.loads(keystore.command_root_value(conn))
    assert named["custody"] == "pkcs11" and named["label"].startswith(COMMAND_ROOT_LABEL)
    again = Station(engine, None, clock=clock)
    assert again.command_key(PAN) == key and again.broker_password(PAN) == password
    custody = station.custody()
    with pytest.raises(VendError, match="not this one"):
        custody.open_command_root(json.dumps({"custody": "aes-gcm", "nonce": "", "ciphertext": ""}))
    lib = pkcs11.lib(softhsm.split("module-path=")[1])
    with lib.get_token(token_label="prepay-test").open(rw=True) as session:    # the station's login holds
        root = next(session.get_objects({Attribute.LABEL: named["label"]}))
        assert root[Attribute.EXTRACTABLE] is False and root[Attribute.SENSITIVE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            root[Attribute.VALUE]
        # The module's HMAC is the contract's: a root of known value, opened as the station opens one.
        known = bytes(range(32))
        label = COMMAND_ROOT_LABEL + "known-%s" % db_url[-6:].replace("/", "")
        session.create_object({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.GENERIC_SECRET,
                               Attribute.LABEL: label, Attribute.TOKEN: False, Attribute.SIGN: True,
                               Attribute.VALUE: known})
        probe = keystore.unlock({"custody": "pkcs11", "uri": softhsm}, None)
        probe.open_command_root(json.dumps({"custody": "pkcs11", "label": label}))
        assert (probe.command_key(PAN), probe.broker_password(PAN)) == expected(known, PAN)
        probe.close()
    assert office.verify_audit(station)[0] == []
    for s in (station, again):
        s.close()
    engine.dispose()
