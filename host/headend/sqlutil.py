"""The few statements that differ between SQLite and PostgreSQL."""
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore(conn, table, index_elements=None):
    """INSERT ... ON CONFLICT DO NOTHING on either database."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=index_elements)
