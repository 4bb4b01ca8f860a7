"""The running station: database engine, unlocked key custody, clock and time zone.

One ``Station`` per process. It caches what is costly and does not change within a run:
the unlocked custody (``keystore``) and the derived decoder keys (in memory only). The
custody is unlocked before a write transaction begins (scrypt or a module login never
runs under the database's locks), and after each committed change the station appends
an audit checkpoint to ``checkpoints`` (default ``PREPAY_AUDIT_CHECKPOINTS``), at most
every ``checkpoint_every_s`` seconds.

Times: the ledger stores naive UTC. TIDs are minutes of the utility's local civil time
(``settings.timezone``, an IANA name chosen at ``init``, default UTC), as the meters
count them; the receipt shows that local time.
"""
import contextlib
import datetime
import os
import threading
import time

from sqlalchemy import select

from host.vending import keystore, schema
from host.vending.db import begin_write
from host.vending.errors import VendError


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Station:
    def __init__(self, engine, passphrase=None, clock=utc_now, checkpoints=None, checkpoint_every_s=0,
                 custody=None):
        """``passphrase``: the keystore passphrase (or the module's PIN), or a function asked
        only when the custody is first needed."""
        self.engine = engine
        self._passphrase = passphrase
        self._custody = custody
        self._unlocking = threading.Lock()
        self.clock = clock
        self._zone = None
        self._decoder_keys = {}
        self.checkpoints = checkpoints or os.environ.get("PREPAY_AUDIT_CHECKPOINTS") or None
        self.checkpoint_every_s = checkpoint_every_s
        self._last_checkpoint = None

    def __repr__(self):
        return "<Station %s>" % self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def begin(self):
        """A write transaction (SQLite: file lock + BEGIN IMMEDIATE; see ``db.begin_write``),
        with the custody unlocked beforehand (every change writes a keyed audit entry)."""
        self.custody()
        with begin_write(self.engine) as conn:
            yield conn
        if self.checkpoints:
            self.checkpoint_if_due()

    def checkpoint_if_due(self):
        from host.vending import audit
        now = time.monotonic()
        if self._last_checkpoint is not None and now - self._last_checkpoint < self.checkpoint_every_s:
            return None
        self._last_checkpoint = now
        return audit.write_checkpoint(self, self.checkpoints)

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
    def custody(self):
        """The unlocked key custody (``keystore.SealedStore`` or ``pkcs11store.ModuleStore``),
        unlocked on first use with its own read of the settings, outside any transaction."""
        if self._custody is None:
            with self._unlocking:
                if self._custody is None:
                    with self.engine.connect() as conn:
                        rec = keystore.record(conn)
                    if rec is None:
                        raise VendError("the keystore is not initialised; run 'prepay vend init'")
                    secret = self._passphrase() if callable(self._passphrase) else self._passphrase
                    custody = keystore.unlock(rec, secret)
                    self._open_command_root(custody)
                    self._custody = custody
        return self._custody

    def _open_command_root(self, custody):
        if custody.has_command_root():
            return True
        with self.engine.connect() as conn:
            value = keystore.command_root_value(conn)
        if value is not None:
            custody.open_command_root(value)
        return value is not None

    def ensure_command_root(self, operator="-"):
        """Make the station's command root if it has none (a station set up before online
        meters), committed with its audit entry before any key is derived from it. Call it
        outside a write transaction (``init`` makes the root of a new station)."""
        custody = self.custody()
        if self._open_command_root(custody):
            return custody
        from sqlalchemy import insert
        from sqlalchemy.exc import IntegrityError
        from host.vending import audit
        try:
            with self.begin() as conn:
                if keystore.command_root_value(conn) is None:
                    conn.execute(insert(schema.settings).values(key="command_root",
                                                                value=custody.new_command_root()))
                    audit.append(self, conn, self.clock(), operator, "command_root", "station",
                                 {"custody": custody.kind}, rows=[(schema.settings, "command_root")])
        except IntegrityError:       # another station made it in the meantime: theirs is the root
            pass
        finally:
            custody.forget_command_root()        # only a root the database holds is used
        self._open_command_root(custody)
        return custody

    def command_key(self, pan):
        """The meter's 32-byte command key (docs/mqtt.md, "Keys"), derived by the custody."""
        return self.ensure_command_root().command_key(pan)

    def broker_password(self, pan):
        """The meter's MQTT broker password (32 hex digits), derived by the custody."""
        return self.ensure_command_root().broker_password(pan)

    def keystore(self, conn=None):
        """The custody (kept for callers that pass the transaction's connection)."""
        return self.custody()

    def close(self):
        if self._custody is not None:
            self._custody.close()
        self._decoder_keys.clear()

    def decoder_key(self, conn, meter, today):
        """The meter's decoder key, derived by the custody from its vending key (never stored)."""
        from tokens.errors import TokenError
        from host.vending.records import usable_vending_key
        ident = (meter["pan"], meter["sgc"], meter["ti"], meter["krn"], meter["kt"],
                 meter["base_year"], meter["algorithm"])
        key_row = usable_vending_key(conn, meter["sgc"], meter["krn"], today)
        cached = self._decoder_keys.get(ident)
        if cached is not None:
            return cached
        try:
            dk = self.custody().decoder_key(key_row, meter)
        except TokenError as exc:
            raise VendError("cannot derive the key of meter %s: %s" % (meter["pan"], exc))
        self._decoder_keys[ident] = dk
        return dk
