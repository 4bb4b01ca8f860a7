"""The few statements that differ between SQLite and PostgreSQL."""
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore(conn, table, index_elements=None):
    """INSERT ... ON CONFLICT DO NOTHING on either database."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def member(conn, column, values):
    """``column IN values``; on PostgreSQL ``IN (SELECT unnest('{...}'))``, one parameter
    however many and a hash join whatever the statistics say (``= ANY(array)`` can become a
    scan comparing every row with every value), for columns of digits only, such as PANs,
    which need no quoting in an array literal."""
    values = list(values)
    if conn.dialect.name == "postgresql" and all(v.isascii() and v.isdigit() for v in values):
        from sqlalchemy import bindparam, cast, func, select
        from sqlalchemy.dialects.postgresql import ARRAY
        return column.in_(select(func.unnest(cast(bindparam(None, "{%s}" % ",".join(values)), ARRAY(column.type)))))
    return column.in_(values)


def update_rows(conn, table, key, columns, rows):
    """Update many rows by ``key``: on PostgreSQL COPY into a temporary table and one
    ``UPDATE ... FROM`` it; an executemany elsewhere."""
    from sqlalchemy import bindparam, update
    names = (key,) + tuple(columns)
    if conn.dialect.name == "postgresql":
        temp = table.name + "_in"
        conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS %s ON COMMIT DELETE ROWS AS SELECT %s FROM %s "
                             "WITH NO DATA" % (temp, ", ".join('"%s"' % c for c in names), table.name))
        copy_rows(conn, temp, names, rows)
        conn.exec_driver_sql("UPDATE %s AS m SET %s FROM %s AS v WHERE m.%s = v.%s" % (
            table.name, ", ".join('"%s" = v."%s"' % (c, c) for c in columns), temp, key, key))
        return
    statement = update(table).where(table.c[key] == bindparam("b_" + key)).values(
        {c: bindparam("b_" + c) for c in columns})
    conn.execute(statement, [{"b_" + k: r[k] for k in names} for r in rows])


def copy_rows(conn, table_name, names, rows):
    """PostgreSQL COPY of dict rows into a table (the driver's own connection)."""
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy("COPY %s (%s) FROM STDIN" % (table_name, ", ".join('"%s"' % c for c in names))) as copy:
        for row in rows:
            copy.write_row(tuple(row[c] for c in names))


def insert_rows(conn, table, names, rows):
    """Insert rows, skipping those whose key exists: on PostgreSQL COPY into a temporary
    table and one INSERT ... SELECT ... ON CONFLICT DO NOTHING; a multi-row insert elsewhere."""
    if conn.dialect.name != "postgresql":
        conn.execute(insert_ignore(conn, table), rows)
        return
    temp = table.name + "_new"
    quoted = ", ".join('"%s"' % c for c in names)
    conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS %s ON COMMIT DELETE ROWS AS SELECT %s FROM %s "
                         "WITH NO DATA" % (temp, quoted, table.name))
    copy_rows(conn, temp, names, rows)
    conn.exec_driver_sql("INSERT INTO %s (%s) SELECT %s FROM %s ON CONFLICT DO NOTHING"
                         % (table.name, quoted, quoted, temp))
