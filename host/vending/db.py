"""Where the ledger lives and how a transaction takes its locks.

The database is chosen by ``--db URL``, else ``PREPAY_DB``, else the SQLite file
``$XDG_DATA_HOME/prepay/vending.db`` (``~/.local/share/prepay/vending.db``). A bare path is
taken as a SQLite file. PostgreSQL URLs (``postgresql://...``) use psycopg 3.

Writers (``begin_write``) take locks so that two clerks never get the same TID:
* SQLite: a write transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time); WAL
  journal, so readers (plain ``engine.connect()``) neither wait nor block. Before it, the process takes an exclusive ``flock`` on ``<db file>.lock``: the
  kernel queues waiters fairly, whereas SQLite's own busy handler only polls, and under
  eight busy clerks a waiting process could starve past any timeout.
* PostgreSQL: ``SELECT ... FOR UPDATE`` on the meter row (see ``lock_row``).

A committed sale is durable before its token is printed: SQLite runs with
``synchronous=FULL`` (in WAL mode ``NORMAL`` lets the last commits roll back after a power
loss), and on PostgreSQL a session whose server says ``synchronous_commit=off`` turns it
back on (stricter settings such as ``remote_apply`` are left alone).
"""
import contextlib
import os

from sqlalchemy import bindparam, create_engine, event, select

from host.vending.errors import VendError

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")
SQLITE_BUSY_TIMEOUT_S = 60


def default_path():
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "prepay", "vending.db")


def resolve_url(url=None):
    """The database URL from the argument, ``PREPAY_DB`` or the default SQLite file."""
    url = url or os.environ.get("PREPAY_DB") or default_path()
    if "://" not in url:
        url = "sqlite:///" + os.path.abspath(url)
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine):
    return engine.dialect.name == "sqlite"


def _sqlite_file(url):
    path = url.split("sqlite:///", 1)[1] if url.startswith("sqlite:///") else ""
    return path if path and path != ":memory:" else None


def make_engine(url=None, create_dir=False):
    """An engine for the ledger; SQLite connections begin every transaction IMMEDIATE."""
    url = resolve_url(url)
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path:
            folder = os.path.dirname(path)
            if create_dir:
                if not os.path.isdir(folder):
                    os.makedirs(folder, mode=0o700)
                if not os.path.exists(path):     # SQLite gives its -wal and -shm files the same mode
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            elif not os.path.exists(path):
                raise VendError("no vending database at %s; run 'prepay vend init' first" % path)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None   # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        lock_path = path + ".lock" if path else None

        @event.listens_for(engine, "begin")
        def _begin(connection):
            if not connection.get_execution_options().get("prepay_write"):
                connection.exec_driver_sql("BEGIN")       # a reader: WAL lets it run alongside
                return
            if lock_path:
                _take_file_lock(connection, lock_path)
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "commit")
        def _commit(connection):
            # Fires just before COMMIT; a writer let in now waits on SQLite's lock only
            # for the moment the commit takes.
            _drop_file_lock(connection)

        @event.listens_for(engine, "rollback")
        def _rollback(connection):
            _drop_file_lock(connection)

        @event.listens_for(engine, "checkin")
        def _checkin(dbapi_connection, record):
            _drop_file_lock(record)
        return engine
    try:
        engine = create_engine(url, pool_pre_ping=False)
    except Exception as exc:  # a malformed URL or a missing driver
        raise VendError("cannot use database URL: %s" % exc.__class__.__name__)

    @event.listens_for(engine, "connect")
    def _durable_commits(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            if cursor.fetchone()[0] == "off":
                cursor.execute("SET SESSION synchronous_commit TO on")
        dbapi_connection.commit()
    return engine


@contextlib.contextmanager
def begin_write(engine):
    """A write transaction: ``flock`` + ``BEGIN IMMEDIATE`` on SQLite, plain on PostgreSQL
    (where rows are locked with ``lock_row``). Commits on success, rolls back on error.

    Do not open a second write transaction in the same process while one is open: the
    second would wait on the first's file lock for ever."""
    with engine.connect() as conn:
        conn.execution_options(prepay_write=True)
        with conn.begin():
            yield conn


def _take_file_lock(connection, lock_path):
    import fcntl
    info = connection.info          # the pooled DBAPI connection's own dict
    if info.get("file_lock") is not None:
        return
    handle = os.fdopen(os.open(lock_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    info["file_lock"] = handle


def _drop_file_lock(holder):
    import fcntl
    handle = holder.info.pop("file_lock", None)     # a Connection or a pool record
    if handle is not None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


_LOCK_QUERIES = {}


def lock_row(conn, table, row_id):
    """Read a row for update: a row lock on PostgreSQL (SQLite already holds the write lock)."""
    for_update = conn.dialect.name != "sqlite"
    query = _LOCK_QUERIES.get((table.name, for_update))
    if query is None:       # built once: constructing statements costs more than running them
        query = select(table).where(table.c.id == bindparam("row_id"))
        if for_update:
            query = query.with_for_update()
        _LOCK_QUERIES[(table.name, for_update)] = query
    return conn.execute(query, {"row_id": row_id}).mappings().first()


def alembic_config(url):
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_head(engine):
    """Bring the schema to the newest migration (what ``prepay vend init`` runs)."""
    from alembic import command
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()


def schema_revision(conn):
    from alembic.runtime.migration import MigrationContext
    return MigrationContext.configure(conn).get_current_revision()
