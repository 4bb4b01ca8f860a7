"""``prepay vend init``: create or upgrade the schema, the key custody and the station settings."""
import os

from sqlalchemy import func, insert, select

from host.vending import audit, keystore, schema
from host.vending.db import upgrade_head
from host.vending.errors import VendError


def check_timezone(name):
    import zoneinfo
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise VendError("unknown time zone %r (use an IANA name such as Africa/Nairobi)" % name)
    return name


def has_keystore(engine):
    """Whether the station is set up (else ``init`` needs a new keystore passphrase)."""
    from sqlalchemy import inspect
    if "settings" not in inspect(engine).get_table_names():
        return False
    with engine.connect() as conn:
        return keystore.record(conn) is not None


def _setting(conn, key):
    return conn.execute(select(schema.settings.c.value).where(schema.settings.c.key == key)).scalar()


def init(engine, passphrase, timezone, now, module_uri=None, approval_wait_s=None):
    """Run the migrations; the first time, set up the key custody (the AES-GCM store, or the
    PKCS#11 module at ``module_uri``), the time zone and the waiting period before a new
    supervisor or admin works on a one-admin station (both fixed once set). On a station
    from before keyed audit, give the old entries their MAC and record every watched row.
    Returns what was done."""
    from host.vending.station import Station
    if timezone:
        check_timezone(timezone)
    if approval_wait_s is not None and approval_wait_s < 0:
        raise VendError("the approval waiting period cannot be negative")
    upgrade_head(engine)
    secure_sqlite_files(engine)
    with engine.connect() as conn:
        rec = keystore.record(conn)
        legacy = conn.execute(select(func.count()).select_from(schema.audit_log)
                              .where(schema.audit_log.c.mac.is_(None))).scalar()
        current_zone = _setting(conn, "timezone")
        current_wait = _setting(conn, "approval_wait_s")
        has_root = keystore.command_root_value(conn) is not None
    if rec is not None:
        if module_uri:
            raise VendError("this station's key custody is already set up; init cannot move it")
        if timezone and current_zone and timezone != current_zone:
            raise VendError("the station's time zone is %s; it cannot be changed once set" % current_zone)
        if approval_wait_s is not None and current_wait is not None and int(current_wait) != approval_wait_s:
            raise VendError("the station's approval waiting period is %s s; it cannot be changed once set"
                            % current_wait)
    done = {"schema": "head", "keystore": "unchanged", "custody": (rec or {}).get("custody", "aes-gcm"),
            "timezone": current_zone, "audit_keyed": 0}
    custody = None
    if rec is None:        # scrypt or the module's key generation, before the transaction
        rec, custody = keystore.new_record(passphrase, module_uri)
    station = Station(engine, passphrase, clock=lambda: now, custody=custody)
    if custody is not None or legacy or not current_zone or current_wait is None:
        _set_up(station, rec, done, timezone, approval_wait_s, now)
    if not has_root:       # the command root of online meters (docs/mqtt.md, "Keys")
        station.ensure_command_root()        # made above for a new station; else now
        done["command_root"] = "created"
    station.close()
    return done


def _set_up(station, rec, done, timezone, approval_wait_s, now):
    with station.begin() as conn:
        created = keystore.save_record(conn, rec)
        for key, value in (("timezone", timezone or "UTC"),
                           ("approval_wait_s", str(operators_default_wait() if approval_wait_s is None
                                                   else approval_wait_s))):
            if _setting(conn, key) is None:
                conn.execute(insert(schema.settings).values(key=key, value=value))
        if created:
            done["keystore"] = "created"
            conn.execute(insert(schema.settings).values(key="command_root",
                                                        value=station.custody().new_command_root()))
            audit.append(station, conn, now, "-", "init", "station",
                         {"timezone": timezone or "UTC", "custody": rec["custody"],
                          "approval_wait_s": int(_setting(conn, "approval_wait_s"))},
                         rows=audit.watched_rows(conn))
        else:
            done["audit_keyed"] = audit.key_legacy_entries(station, conn)
            audit.append(station, conn, now, "-", "audit_keyed", "station",
                         {"entries_keyed": done["audit_keyed"]}, rows=audit.watched_rows(conn))
        done["custody"] = rec.get("custody", "aes-gcm")   # a record from before custody kinds
        done["timezone"] = _setting(conn, "timezone")


def operators_default_wait():
    from host.vending.operators import DEFAULT_APPROVAL_WAIT_S
    return DEFAULT_APPROVAL_WAIT_S


def secure_sqlite_files(engine):
    """A SQLite ledger readable by its owner only: its files 0600, and the default data
    folder 0700 (a folder the user chose is left as it is; one ``init`` creates is 0700)."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return
    path = os.path.abspath(engine.url.database)
    for name in (path, path + "-wal", path + "-shm", path + ".lock"):
        if os.path.exists(name):
            os.chmod(name, 0o600)
    from host.vending.db import default_path
    if os.path.dirname(path) == os.path.dirname(os.path.abspath(default_path())):
        os.chmod(os.path.dirname(path), 0o700)
