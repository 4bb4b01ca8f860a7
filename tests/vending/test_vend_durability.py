"""A committed sale survives a power loss (issue 11 item 12): every ledger connection
runs SQLite with synchronous=FULL in WAL mode, and PostgreSQL with synchronous_commit on
even when the server's default is off (as the test server's is, for speed)."""
import os

from sqlalchemy import text

from host.vending import db


def test_every_new_ledger_connection_commits_durably(db_url):
    engine = db.make_engine(db_url, create_dir=True)
    try:
        for _ in range(2):              # a fresh DBAPI connection each time, not a pooled one
            with engine.connect() as conn:
                if engine.dialect.name == "sqlite":
                    assert conn.execute(text("PRAGMA synchronous")).scalar() == 2          # FULL
                    assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                else:
                    assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
                    server_default = conn.execute(text(
                        "SELECT reset_val FROM pg_settings WHERE name = 'synchronous_commit'")).scalar()
                    if not os.environ.get("PREPAY_TEST_PG_URL"):     # our server: off by default
                        assert server_default == "off"
            engine.dispose()
    finally:
        engine.dispose()


def test_a_stricter_postgresql_setting_is_kept(db_url):
    """Only 'off' is raised to 'on'; a server asking for remote_apply keeps it."""
    if "://" not in db_url:
        return
    import psycopg
    from pgserver import Server
    name = db_url.rsplit("/", 1)[1]
    with psycopg.connect(Server._psycopg_url(db_url), autocommit=True) as admin:
        admin.execute("ALTER DATABASE %s SET synchronous_commit = remote_apply" % name)
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "remote_apply"
    finally:
        engine.dispose()
