"""The running station: database engine, unlocked keystore, clock and time zone.

One ``Station`` per process. It caches what is costly and does not change within a run:
the opened vending keys and the derived decoder keys (in memory only).

Times: the ledger stores naive UTC. TIDs are minutes of the utility's local civil time
(``settings.timezone``, an IANA name chosen at ``init``, default UTC), as the meters
count them; the receipt shows that local time.
"""
import datetime

from sqlalchemy import select

from host.vending import schema
from host.vending.db import begin_write
from host.vending.errors import VendError
from host.vending.keystore import Keystore


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Station:
    def __init__(self, engine, passphrase=None, clock=utc_now):
        """``passphrase``: the keystore passphrase, or a function asked only when a key is needed."""
        self.engine = engine
        self._passphrase = passphrase
        self._keystore = None
        self.clock = clock
        self._zone = None
        self._decoder_keys = {}

    def __repr__(self):
        return "<Station %s>" % self.engine.url.render_as_string(hide_password=True)

    def begin(self):
        """A write transaction (SQLite: file lock + BEGIN IMMEDIATE; see ``db.begin_write``)."""
        return begin_write(self.engine)

    # Time ------------------------------------------------------------------------------
    def zone(self, conn=None):
        if self._zone is None:
            import zoneinfo
            name = None
            if conn is not None:
                name = conn.execute(select(schema.settings.c.value)
                                    .where(schema.settings.c.key == "timezone")).scalar()
            else:
                with self.engine.connect() as c:
                    name = c.execute(select(schema.settings.c.value)
                                     .where(schema.settings.c.key == "timezone")).scalar()
            self._zone = zoneinfo.ZoneInfo(name or "UTC")
        return self._zone

    def local(self, utc, conn=None):
        """Naive local time of a naive UTC datetime."""
        return utc.replace(tzinfo=datetime.timezone.utc).astimezone(self.zone(conn)).replace(tzinfo=None)

    def to_utc(self, local, conn=None):
        return local.replace(tzinfo=self.zone(conn)).astimezone(datetime.timezone.utc).replace(tzinfo=None)

    # Keys ------------------------------------------------------------------------------
    def keystore(self, conn):
        if self._keystore is None:
            passphrase = self._passphrase() if callable(self._passphrase) else self._passphrase
            self._keystore = Keystore.unlock(conn, passphrase)
        return self._keystore

    def decoder_key(self, conn, meter, today):
        """The meter's decoder key, derived from its vending key (never stored)."""
        from tokens import keys
        from tokens.errors import TokenError
        from host.vending.records import usable_vending_key
        ident = (meter["pan"], meter["sgc"], meter["ti"], meter["krn"], meter["kt"],
                 meter["base_year"], meter["algorithm"])
        key_row = usable_vending_key(conn, meter["sgc"], meter["krn"], today)
        cached = self._decoder_keys.get(ident)
        if cached is not None:
            return cached
        vending_key = self.keystore(conn).open(key_row)
        try:
            if key_row["dkga"] == "02":
                dk = keys.dkga02(vending_key, meter["pan"], meter["sgc"], meter["ti"], meter["krn"], meter["kt"])
            else:
                dk = keys.dkga04(vending_key, meter["pan"], meter["sgc"], meter["ti"], meter["krn"],
                                 meter["kt"], meter["base_year"], meter["algorithm"])
        except TokenError as exc:
            raise VendError("cannot derive the key of meter %s: %s" % (meter["pan"], exc))
        self._decoder_keys[ident] = dk
        return dk
