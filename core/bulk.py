"""Insert and update many rows in one statement each, the values passed as one binary array per column.

Django's bulk_update builds a CASE WHEN per field with one branch per row,
which PostgreSQL evaluates row by row (quadratic: seconds for a few thousand
rows), and bulk_create and model instances cost tens of microseconds a row
in Python. On PostgreSQL these helpers take columns (field attname -> list of
values), send each as a binary array and let `unnest` turn them into rows:
linear, and cheap on both sides. They use the same connection and so the
caller's transaction. Elsewhere (SQLite, the embedded profile) they fall
back to Django's bulk_create and bulk_update.
"""

import datetime as dt
from typing import Any

import psycopg
from django.db import connection, models
from psycopg.types.json import Jsonb


def sql_time(value: dt.datetime) -> Any:
    """A datetime as the database stores it, for raw SQL parameters (SQLite keeps naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _field(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):  # a reverse relation or generic key has no column
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field


def _array_type(field: models.Field) -> str:
    db_type = field.db_type(connection)  # a foreign key's is its target's (ForeignKey.db_type)
    if db_type is None:
        raise ValueError(f"{field.name} has no column type")
    if db_type.startswith("varchar"):
        db_type = "text"
    return {"serial": "integer", "bigserial": "bigint"}.get(db_type, db_type) + "[]"


def _prepared(field: models.Field, values: list) -> list:
    if isinstance(field, models.JSONField):
        return [None if v is None else Jsonb(v) for v in values]
    return values


def _count(columns: dict[str, list]) -> int:
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError("every column must have the same number of values")
    return lengths.pop()


def _objects(model: type[models.Model], columns: dict[str, list], count: int) -> list[models.Model]:
    return [model(**{name: values[i] for name, values in columns.items()}) for i in range(count)]


def _execute(sql: str, params: list) -> list[tuple] | None:
    """Run on Django's connection (so in its transaction), raising Django's database errors."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def ids_reserve(*, model: type[models.Model], count: int) -> list[int] | None:
    """Take `count` primary keys from the table's sequence (PostgreSQL), so rows can be inserted with known ids."""
    if connection.vendor != "postgresql" or not count:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def rows_insert(
    *,
    model: type[models.Model],
    columns: dict[str, list],
    ignore_conflicts: bool = False,
    returning: list[str] | None = None,
) -> list[tuple] | None:
    """Insert rows given as columns (attname -> values). Caller's transaction.

    With `returning` (column names), returns those columns of the rows
    inserted on PostgreSQL (not of those skipped as conflicts); None elsewhere.
    """
    count = _count(columns)
    if not count:
        return [] if returning else None
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(_objects(model, columns, count), ignore_conflicts=ignore_conflicts)
        return None
    fields = [_field(model, name) for name in columns]
    names = ", ".join(f'"{f.column}"' for f in fields)
    arrays = ", ".join(f"%b::{_array_type(f)}" for f in fields)
    sql = f'INSERT INTO "{model._meta.db_table}" ({names}) SELECT * FROM unnest({arrays})'
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(f'"{_field(model, name).column}"' for name in returning)
    return _execute(sql, [_prepared(f, values) for f, values in zip(fields, columns.values(), strict=True)])


def rows_update(
    *, model: type[models.Model], columns: dict[str, list], expect: dict[str, list] | None = None
) -> list[int]:
    """Set columns of the rows whose primary keys are in columns["id"]; returns the ids updated. Caller's transaction.

    `expect` (attname -> values) makes it conditional: a row is updated only
    while those columns still hold the given values (optimistic concurrency:
    a row someone else changed first is left alone and not returned).
    """
    count = _count(columns)
    expect = expect or {}
    if not count:
        return []
    if connection.vendor != "postgresql":
        return _rows_update_portable(model, columns, expect, count)
    meta = model._meta
    fields = [_field(model, name) for name in columns]
    checked = [_field(model, name) for name in expect]
    names = [f'"{f.column}"' for f in fields] + [f'"expect_{f.column}"' for f in checked]
    arrays = ", ".join(f"%b::{_array_type(f)}" for f in fields + checked)
    assignments = ", ".join(f'"{f.column}" = v."{f.column}"' for f in fields if not f.primary_key)
    conditions = "".join(f' AND t."{f.column}" = v."expect_{f.column}"' for f in checked)
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {assignments} FROM unnest({arrays}) AS v({", ".join(names)}) '
        f'WHERE t."{meta.pk.column}" = v."{meta.pk.column}"{conditions} RETURNING t."{meta.pk.column}"'
    )
    params = [_prepared(f, values) for f, values in zip(fields, columns.values(), strict=True)]
    params += [_prepared(f, values) for f, values in zip(checked, expect.values(), strict=True)]
    return [row[0] for row in _execute(sql, params) or []]


def _rows_update_portable(model: type[models.Model], columns: dict[str, list], expect: dict[str, list], count: int):
    ids = columns["id"]
    if expect:
        current = {row[0]: row[1:] for row in model._default_manager.filter(pk__in=ids).values_list("pk", *expect)}
        wanted = {ids[i]: tuple(values[i] for values in expect.values()) for i in range(count)}
        keep = [i for i in range(count) if current.get(ids[i]) == wanted[ids[i]]]
    else:
        keep = list(range(count))
    objects = [model(**{name: values[i] for name, values in columns.items()}) for i in keep]
    model._default_manager.bulk_update(objects, [n for n in columns if n != "id"], batch_size=1000)
    return [ids[i] for i in keep]
