"""``prepay vend init``: create or upgrade the schema, the keystore and the station settings."""
from sqlalchemy import insert, select

from host.vending import audit, keystore, schema
from host.vending.db import begin_write, upgrade_head
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
        return conn.execute(select(schema.settings.c.key)
                            .where(schema.settings.c.key == "keystore")).first() is not None


def init(engine, passphrase, timezone, now):
    """Run the migrations; set up the keystore and time zone the first time. Returns what was done."""
    if timezone:
        check_timezone(timezone)
    upgrade_head(engine)
    done = {"schema": "head", "keystore": "unchanged", "timezone": None}
    with begin_write(engine) as conn:
        if keystore.initialise(conn, passphrase):
            done["keystore"] = "created"
            audit.append(conn, now, "-", "init", "station", {"timezone": timezone or "UTC"})
        current = conn.execute(select(schema.settings.c.value).where(schema.settings.c.key == "timezone")).scalar()
        if current is None:
            conn.execute(insert(schema.settings).values(key="timezone", value=timezone or "UTC"))
            current = timezone or "UTC"
        elif timezone and timezone != current:
            raise VendError("the station's time zone is %s; it cannot be changed once set" % current)
        done["timezone"] = current
    return done
