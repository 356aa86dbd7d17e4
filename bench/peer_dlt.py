"""The dlt peer: ``python -m bench.peer_dlt SQLITE_PATH PG_URL [--plain]``.

dlt's ``sql_database`` source (SQLAlchemy reflection, the pyarrow backend) into its
``postgres`` destination, dataset ``legacy``. Run as is (``--plain``) it aborts on this data:
SQLAlchemy reflects ``uniqueidentifier`` as NUMERIC and fails on the first GUID, ``12a`` in an
int column fails the same way, and PostgreSQL rejects NUL bytes. The two adapters it needs to
copy the rows at all, the least a user would add:

- every column as text: a table adapter for dlt's schema and the result processing, and a query
  adapter casting each column in the SELECT (SQLite returns whatever a value is stored as, and
  pyarrow then fails on ``12a`` among ints): the like-for-like raw copy, as pgloader's
  all-text run and sling's ``'*': string``;
- a map over each Arrow batch that removes U+0000 from the text columns (PostgreSQL text cannot
  hold it), the alteration that the fidelity comparison then counts.

Imported only here (dlt is a bench dependency). Prints one JSON line: seconds (after imports),
whether the load succeeded and, if not, the first line of the error.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
from dlt.sources.sql_database import sql_database

from kgv_assets.legacy.catalogue import TABLES

DATASET = "legacy"


def _as_text(table: sa.Table) -> None:
    """Every reflected column as text, for the query's result processing and dlt's schema."""
    for column in table.columns:
        column.type = sa.Text()


def _cast_to_text(query: Any, table: sa.Table) -> Any:
    """SELECT every column CAST AS TEXT: SQLite hands back what a column holds (ints, '12a')."""
    return sa.select(*(sa.cast(c, sa.Text).label(c.name) for c in table.columns))


def _without_nul(batch: Any) -> Any:
    """An Arrow table or batch with U+0000 removed from its string columns."""
    without = pc.ReplaceSubstringOptions("\x00", "")
    columns = [
        pc.call_function("replace_substring", [column], without)
        if pa.types.is_string(column.type)
        else column
        for column in batch.columns
    ]
    return type(batch).from_arrays(columns, schema=batch.schema)


def _credentials(pg_url: str) -> PostgresCredentials:
    """The URL as dlt's credentials; a server that trusts the login needs no password, dlt does."""
    credentials = PostgresCredentials()
    credentials.parse_native_representation(pg_url)
    if credentials.password is None:
        credentials.password = ""
    credentials.resolve()
    return credentials


def load(sqlite_path: str, pg_url: str, plain: bool) -> dict[str, object]:
    """Run the pipeline once; the outcome as a dict."""
    adapters: dict[str, Any] = (
        {}
        if plain
        else {
            "table_adapter_callback": _as_text,
            "query_adapter_callback": _cast_to_text,
        }
    )
    source = sql_database(
        credentials=f"sqlite:///{sqlite_path}",
        table_names=[t.name for t in TABLES],
        backend="pyarrow",
        reflection_level="full",
        **adapters,
    )
    if not plain:
        for resource in source.resources.values():
            resource.add_map(_without_nul)
    with tempfile.TemporaryDirectory(prefix="bench_dlt_") as work:
        pipeline = dlt.pipeline(
            pipeline_name="bench_peer",
            pipelines_dir=work,
            destination=dlt.destinations.postgres(credentials=_credentials(pg_url)),
            dataset_name=DATASET,
        )
        started = time.perf_counter()
        try:
            pipeline.run(source, write_disposition="replace")
        except Exception as error:  # the failure is the result when run --plain
            text = " ".join(str(error).split())  # dlt's message ends with the cause
            return {
                "seconds": time.perf_counter() - started,
                "success": False,
                "error": text[-300:] or type(error).__name__,
            }
        return {"seconds": time.perf_counter() - started, "success": True}


if __name__ == "__main__":
    outcome = load(sys.argv[1], sys.argv[2], plain="--plain" in sys.argv[3:])
    print(json.dumps(outcome))  # noqa: T201  (the driver reads this line)
