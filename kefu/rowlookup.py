"""One row by equality, and new rows inserted, with the SQL built once: for the statements
that run on every request.

``Model.objects.filter(...).first()`` compiles its query on every call: resolving the lookups,
ordering by the primary key, building the SELECT and, with ``select_related``, the join's
columns. On the API's hot path (the bearer token with its user on every request, the contact
of each message) that compiling cost more CPU than the database did (py-spy, issue 13).
:class:`RowLookup` builds the statement once per database alias from the models' metadata and
then only runs it; the rows become model instances through ``Model.from_db`` and the same
value converters Django's compiler applies (SQLite's text datetimes, JSON, decimals), so the
instances are the ones the ORM would have made. It reads the database every time: nothing
is cached but the SQL text, so a changed or deleted row is seen at once.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

from django.db import connections, models, router
from django.db.models.signals import post_save, pre_save

M = TypeVar("M", bound=models.Model)


class RowLookup(Generic[M]):
    """``model.objects.select_related(related).filter(**{f: v for f in fields}).first()``,
    compiled once: equality on ``fields`` (concrete fields; a foreign key by its ``_id``
    value or instance), optionally joined with one non-null foreign key ``related``."""

    def __init__(self, model: type[M], *fields: str, related: str | None = None) -> None:
        self.model = model
        # Any: django-stubs type get_field() as any field or relation; these are concrete fields.
        self.fields: list[Any] = [model._meta.get_field(name) for name in fields]
        self.related: Any = cast(Any, model._meta.get_field(related)) if related else None
        if self.related is not None and (self.related.null or not self.related.many_to_one):
            raise ValueError("related must be a non-null foreign key")  # an inner join drops no row
        self._compiled: dict[str, tuple[str, list, list]] = {}

    def _compile(self, alias: str) -> tuple[str, list, list]:
        connection = connections[alias]
        quote = connection.ops.quote_name
        opts = self.model._meta
        parts: list[tuple[Any, str, list[Any]]] = [(opts, "t0", list(opts.concrete_fields))]
        if self.related is not None:
            ropts = self.related.related_model._meta
            parts.append((ropts, "t1", list(ropts.concrete_fields)))
        columns, converters = [], []
        for _opts, table_alias, fields in parts:
            for field in fields:
                col = field.get_col(table_alias)
                columns.append(f"{quote(table_alias)}.{quote(field.column)}")
                converters.append(
                    (connection.ops.get_db_converters(col) + col.get_db_converters(connection), col)
                )
        sql = f"SELECT {', '.join(columns)} FROM {quote(opts.db_table)} {quote('t0')}"
        if self.related is not None:
            ropts = self.related.related_model._meta
            sql += (
                f" INNER JOIN {quote(ropts.db_table)} {quote('t1')}"
                f" ON {quote('t1')}.{quote(ropts.pk.column)} = {quote('t0')}.{quote(self.related.column)}"
            )
        where = " AND ".join(f"{quote('t0')}.{quote(f.column)} = %s" for f in self.fields)
        sql += f" WHERE {where} LIMIT 1"
        self._compiled[alias] = (sql, [p[2] for p in parts], converters)
        return self._compiled[alias]

    def get(self, *values: Any) -> M | None:
        """The row whose fields equal ``values`` (in the order given), or None."""
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        sql, field_lists, converters = self._compiled.get(alias) or self._compile(alias)
        params = [
            f.get_db_prep_value(v.pk if isinstance(v, models.Model) else v, connection)
            for f, v in zip(self.fields, values, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for i, (functions, col) in enumerate(converters):
            for convert in functions:
                row[i] = convert(row[i], col, connection)
        own = field_lists[0]
        instance = self.model.from_db(alias, [f.attname for f in own], row[: len(own)])
        if self.related is not None:
            other = field_lists[1]
            related = self.related.related_model.from_db(alias, [f.attname for f in other], row[len(own) :])
            self.related.set_cached_value(instance, related)
        return instance


# ----------------------------------------------------------------------------- inserts

_INSERTS: dict[tuple[type[models.Model], str, int, str | None, str | None], tuple[str, list, list]] = {}


def _insert_sql(
    model: type[models.Model], alias: str, rows: int, unless: str | None = None, replace: str | None = None
) -> tuple[str, list, list]:
    key = (model, alias, rows, unless, replace)
    if key not in _INSERTS:
        connection = connections[alias]
        quote = connection.ops.quote_name
        opts = model._meta
        concrete: list[Any] = list(opts.local_concrete_fields)  # Any: the stubs lack db_returning
        fields = [f for f in concrete if not (f.primary_key and f.db_returning)]
        returning = [f for f in concrete if f.db_returning]
        if any(f.generated or f.has_db_default() for f in concrete):
            raise ValueError(f"{model.__name__}: database defaults need the ORM's insert")
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)})"
            f" VALUES {', '.join([row] * rows)}"
        )
        if unless is not None:
            unique: Any = opts.get_field(unless)
            sql += f" ON CONFLICT ({quote(unique.column)}) DO NOTHING"
        if replace is not None:
            unique = opts.get_field(replace)
            others = [f for f in fields if f is not unique]
            sql += f" ON CONFLICT ({quote(unique.column)}) DO UPDATE SET " + ", ".join(
                f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in others
            )
        if returning:
            sql += f" RETURNING {', '.join(quote(f.column) for f in returning)}"
        _INSERTS[key] = (sql, fields, returning)
    return _INSERTS[key]


def insert(*objs: M, unless_taken: str | None = None, replacing: str | None = None) -> list[M]:
    """INSERT new instances of one model in one statement, the SQL built once per model and row
    count: what ``bulk_create`` does (no ``save()``, no signals; fields' ``pre_save`` fills
    ``auto_now``/``auto_now_add``), without compiling the statement on every call. The
    primary keys come back by RETURNING, in the order of the rows, as ``bulk_create`` has them
    on PostgreSQL and SQLite. For models nobody listens to (no ``post_save`` receivers) and
    with no custom ``save()``: a model that gains save signals is saved one by one instead.

    ``unless_taken``: a unique field; a row whose value is taken is not inserted (``ON CONFLICT
    (field) DO NOTHING``) and the answer is empty, with no error and no savepoint needed — a
    clash on any other constraint still raises. One row at a time.

    ``replacing``: a unique field; a row whose value is taken is overwritten with this one's
    other columns (``ON CONFLICT (field) DO UPDATE``, ``bulk_create(update_conflicts=True)``'s
    upsert). One row at a time.
    """
    if not objs:
        return []
    model = type(objs[0])
    if (unless_taken is not None or replacing is not None) and len(objs) != 1:
        raise ValueError("unless_taken and replacing insert one row")
    if replacing is not None and (pre_save.has_listeners(model) or post_save.has_listeners(model)):
        raise ValueError(f"{model.__name__}: replacing needs a signal-free model")
    if unless_taken is None and (pre_save.has_listeners(model) or post_save.has_listeners(model)):
        for obj in objs:
            obj.save(force_insert=True)
        return list(objs)
    alias = router.db_for_write(model)
    connection = connections[alias]
    if not connection.features.can_return_rows_from_bulk_insert:  # pragma: no cover - old SQLite
        if replacing is not None:
            unique: Any = model._meta.get_field(replacing)
            return model._base_manager.using(alias).bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=[replacing],
                update_fields=[f.name for f in model._meta.local_concrete_fields if f is not unique],
            )
        return model._base_manager.using(alias).bulk_create(objs)
    if unless_taken is not None and (
        pre_save.has_listeners(model) or post_save.has_listeners(model) or not cast(Any, model._meta.pk).db_returning
    ):
        raise ValueError(f"{model.__name__}: unless_taken needs a signal-free model with an auto key")
    sql, fields, returning = _insert_sql(model, alias, len(objs), unless_taken, replacing)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall() if returning else []
    if unless_taken is not None and not rows:
        return []  # the value was taken: nothing written
    for obj, row in zip(objs, rows or [()] * len(objs), strict=True):
        for field, value in zip(returning, row, strict=True):
            col = field.get_col(model._meta.db_table)
            for convert in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
                value = convert(value, col, connection)
            setattr(obj, field.attname, value)
        obj._state.adding = False
        obj._state.db = alias
    return list(objs)
