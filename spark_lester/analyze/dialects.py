"""Which engine runs a SQL text, and how its tables are named in the catalog.

The same ``INSERT INTO sales.orders`` names a Glue table when Spark or Athena runs it, a
Redshift table when a Redshift connection runs it, and a Postgres table when a Postgres
connection does. The operator and its connection id decide (:func:`sql_engine`), and
:func:`table_location` names the table: ``glue://db.t``, ``athena://db.t``,
``redshift://database.schema.t`` or ``jdbc:<engine>:{connection <id>}?dbtable=schema.t``.

>>> sql_engine("PostgresOperator", "warehouse_pg"), sql_engine("SQLExecuteQueryOperator", "redshift_default")
('postgresql', 'redshift')
>>> table_location("orders", "redshift", database="dev"), table_location("s.orders", "postgresql", conn="pg")
('redshift://dev.public.orders', 'jdbc:postgresql:{connection pg}?dbtable=s.orders')
"""

from __future__ import annotations

from spark_lester.analyze.locations import table_uri

#: Words of an operator or connection id that name the engine, most specific first.
_ENGINE_WORDS = (("redshift", "redshift"), ("athena", "athena"), ("postgres", "postgresql"),
                 ("mysql", "mysql"), ("mssql", "sqlserver"), ("snowflake", "snowflake"),
                 ("trino", "trino"), ("presto", "presto"), ("oracle", "oracle"),
                 ("spark", "glue"), ("hive", "glue"), ("glue", "glue"))
#: sqlglot's name of each engine's dialect.
SQLGLOT_DIALECTS = {"glue": "spark", "athena": "athena", "redshift": "redshift", "postgresql": "postgres",
                    "mysql": "mysql", "sqlserver": "tsql", "snowflake": "snowflake", "trino": "trino",
                    "presto": "presto", "oracle": "oracle"}
#: Engines whose tables live in the Glue/Hive catalog or have their own URI scheme.
CATALOG_ENGINES = frozenset({"glue", "athena", "redshift"})


def sql_engine(operator: str, conn_id: str | None) -> str:
    """The engine of a SQL operator: from its connection id first, then its class name."""
    for text in (str(conn_id or "").lower(), operator.lower()):
        for word, engine in _ENGINE_WORDS:
            if word in text:
                return engine
    return "glue" if operator in ("SparkSqlOperator", "SqlOperator") else "jdbc"


def table_location(name: str, engine: str, *, database: str | None = None, conn: str | None = None) -> str:
    """The catalog URI of table ``name`` (as written in the SQL) on ``engine``."""
    name = name.strip().strip('`"')
    if engine == "redshift":
        db = database or "{database}"
        parts = name.count(".")
        return table_uri("redshift", name if parts >= 2 else f"{db}.{name}" if parts == 1 else f"{db}.public.{name}")
    if engine in ("glue", "athena"):
        return table_uri(engine, name, database=database)
    return f"jdbc:{engine}:{{connection {conn or '?'}}}?dbtable={name.lower()}"
