"""The Alembic migration is the schema of record: a migrated database must match the
metadata the code queries with, on SQLite and PostgreSQL; ``init`` is idempotent."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from host.vending import bootstrap, db, schema
from host.vending.station import utc_now


def test_migration_matches_metadata_and_init_is_idempotent(db_url):
    engine = db.make_engine(db_url, create_dir=True)
    bootstrap.init(engine, "a passphrase for tests", "UTC", utc_now())
    again = bootstrap.init(engine, None, None, utc_now())       # second run: nothing to do, no secret asked
    assert again["keystore"] == "unchanged" and again["timezone"] == "UTC"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        assert diff == []
        assert db.schema_revision(conn) == _newest_revision(db_url)
        assert conn.execute(select(schema.audit_head.c.last_id)).scalar() == 1
    engine.dispose()


def _newest_revision(db_url):
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(db.alembic_config(db_url)).get_current_head()


def test_default_location_and_url_forms(monkeypatch, tmp_path):
    monkeypatch.delenv("PREPAY_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert db.resolve_url() == "sqlite:///%s/prepay/vending.db" % tmp_path
    monkeypatch.setenv("PREPAY_DB", "postgresql://u@h:5432/d")
    assert db.resolve_url() == "postgresql+psycopg://u@h:5432/d"
    assert db.resolve_url("x.db").startswith("sqlite:////")
