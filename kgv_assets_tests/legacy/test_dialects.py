"""The version matrix: every statement sent to the source, per SQL Server version family.

For each strategy (``kgv_assets.legacy.dialects``), every statement the legacy source resource
can send (``source_statements``) is compiled with SQLAlchemy's mssql dialect, parsed with
sqlglot's T-SQL dialect, and the functions and catalog tables it uses are checked against the
first version that has them, as Microsoft's documentation says (URL per entry below). A
function from a newer version in an older version's SQL fails.

The row encoding of each server-side strategy is then *evaluated*: a small interpreter of the
T-SQL expressions the strategy emits (T-SQL semantics: ``+`` propagates NULL, ``CONCAT``
reads NULL as '', ``HASHBYTES`` by ``hashlib``) computes the hash inputs of rows where a
NULL, an empty string and a value moved to the neighbouring column differ, and no two give
the same input; with the catalogue's longest values no ``HASHBYTES`` input of a pre-2016
strategy exceeds 8,000 bytes. No SQL Server runs here, so this is as close as the tests get.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa
import sqlglot
from sqlalchemy.dialects import mssql
from sqlglot import exp

from kgv_assets.legacy.catalogue import TABLES, Column, Table, table
from kgv_assets.legacy.dialects import (
    MSSQL_2000,
    MSSQL_2005,
    MSSQL_2012,
    MSSQL_2016,
    MSSQL_STRATEGIES,
    PIECE_BYTES,
    UnsupportedServerError,
    major_version,
    mssql_strategy,
    pieces,
)
from kgv_assets.legacy.fingerprint import client_row_hash, fingerprint_query
from kgv_assets.resources.legacy_source import source_statements

DOCS = "https://learn.microsoft.com/en-us/sql"
SINCE: dict[str, tuple[int, str]] = {
    # function or catalog table → (first major version: 8 = 2000, 9 = 2005, 11 = 2012, ...)
    "COUNT": (8, f"{DOCS}/t-sql/functions/count-transact-sql"),
    "SUM": (8, f"{DOCS}/t-sql/functions/sum-transact-sql"),
    "CAST": (8, f"{DOCS}/t-sql/functions/cast-and-convert-transact-sql"),
    "CONVERT": (8, f"{DOCS}/t-sql/functions/cast-and-convert-transact-sql"),
    "CASE": (8, f"{DOCS}/t-sql/language-elements/case-transact-sql"),
    "YEAR": (8, f"{DOCS}/t-sql/functions/year-transact-sql"),
    "SUBSTRING": (8, f"{DOCS}/t-sql/functions/substring-transact-sql"),
    "DATALENGTH": (8, f"{DOCS}/t-sql/functions/datalength-transact-sql"),
    "ISNULL": (8, f"{DOCS}/t-sql/functions/isnull-transact-sql"),
    "SERVERPROPERTY": (8, f"{DOCS}/t-sql/functions/serverproperty-transact-sql"),
    "DB_NAME": (8, f"{DOCS}/t-sql/functions/db-name-transact-sql"),
    "INFORMATION_SCHEMA.COLUMNS": (
        8,
        f"{DOCS}/relational-databases/system-information-schema-views/columns-transact-sql",
    ),
    "MASTER.DBO.SYSDATABASES": (
        8,
        f"{DOCS}/relational-databases/system-compatibility-views/sys-sysdatabases-transact-sql",
    ),
    # HASHBYTES: "Applies to SQL Server 2008 and later" in today's page (the oldest it still
    # lists); it came with SQL Server 2005 with MD2/MD4/MD5/SHA/SHA1. SHA2_256 and SHA2_512 from
    # SQL Server 2012; "For SQL Server 2014 and earlier, allowed input values are limited to
    # 8000 bytes".
    "HASHBYTES('MD5')": (9, f"{DOCS}/t-sql/functions/hashbytes-transact-sql"),
    "HASHBYTES('SHA1')": (9, f"{DOCS}/t-sql/functions/hashbytes-transact-sql"),
    "HASHBYTES('SHA2_256')": (11, f"{DOCS}/t-sql/functions/hashbytes-transact-sql"),
    "SYS.DATABASES": (
        9,
        f"{DOCS}/relational-databases/system-catalog-views/sys-databases-transact-sql",
    ),
    "CONCAT": (11, f"{DOCS}/t-sql/functions/concat-transact-sql"),
    "IIF": (11, f"{DOCS}/t-sql/functions/logical-functions-iif-transact-sql"),
    "TRY_CONVERT": (11, f"{DOCS}/t-sql/functions/try-convert-transact-sql"),
    "FORMAT": (11, f"{DOCS}/t-sql/functions/format-transact-sql"),
    "CONCAT_WS": (14, f"{DOCS}/t-sql/functions/concat-ws-transact-sql"),
    "STRING_AGG": (14, f"{DOCS}/t-sql/functions/string-agg-transact-sql"),
}
"""The functions and catalog tables a statement may use, with the first version having them."""


def tsql(statement: sa.ClauseElement | str) -> str:
    """A statement as the server receives it (parameters inlined for parsing)."""
    if isinstance(statement, str):
        return statement
    return str(statement.compile(dialect=mssql.dialect(), compile_kwargs={"literal_binds": True}))


def used(text: str) -> set[str]:
    """The T-SQL functions (HASHBYTES with its algorithm) and catalog tables ``text`` uses."""
    tree = sqlglot.parse_one(text, read="tsql")
    names: set[str] = set()
    for node in tree.find_all(exp.Func):
        if isinstance(node, exp.If) and isinstance(node.parent, exp.Case):
            continue  # a WHEN branch of CASE (sqlglot's own node), not IIF
        rendered = node.sql("tsql").upper()
        algorithm = re.match(r"HASHBYTES\('(\w+)'", rendered)
        if algorithm:
            names.add(f"HASHBYTES('{algorithm.group(1)}')")
        elif isinstance(node, exp.Case):
            names.add("CASE")
        elif found := re.match(r"([A-Z_]+)\s*\(", rendered):
            names.add(found.group(1))
        # anything else sqlglot counts as a function is an operator (AND, BETWEEN, ...)
    for t in tree.find_all(exp.Table):
        qualified = ".".join(p for p in (t.catalog, t.db, t.name) if p).upper()
        if qualified.split(".")[0] in ("SYS", "INFORMATION_SCHEMA", "MASTER"):
            names.add(qualified)
    return names


def allowed(major: int) -> set[str]:
    return {name for name, (since, _) in SINCE.items() if since <= major}


@pytest.mark.parametrize("strategy", MSSQL_STRATEGIES, ids=lambda s: s.name)
def test_every_statement_uses_only_what_its_oldest_server_has(strategy) -> None:
    statements = source_statements(strategy)
    assert len(statements) >= 3 + 3 * len(TABLES)
    for name, statement in statements.items():
        functions = used(tsql(statement))
        unknown = functions - set(SINCE)
        assert not unknown, f"{name}: add {unknown} to SINCE with its documentation"
        newer = functions - allowed(strategy.min_major)
        assert not newer, f"{strategy.family}, {name}: {newer} do not exist there"


def test_the_matrix_fails_newer_sql_on_older_servers() -> None:
    """The check itself: the 2016 fingerprint is refused for 2005, 2012's CONCAT for 2008."""
    newest = used(tsql(fingerprint_query(table("Antrag"), "dbo", MSSQL_2016)))
    assert {"CONCAT", "HASHBYTES('SHA2_256')"} <= newest
    assert newest - allowed(MSSQL_2005.min_major) == {"CONCAT", "HASHBYTES('SHA2_256')"}
    assert used("SELECT IIF(a IS NULL, 1, 0) FROM t") - allowed(10) == {"IIF"}
    assert used(tsql(fingerprint_query(table("Antrag"), "dbo", MSSQL_2005))) <= allowed(9)


def test_the_server_version_picks_the_strategy() -> None:
    assert major_version("10.50.6000.34") == 10
    cases = {
        (8, 80): MSSQL_2000,
        (9, 90): MSSQL_2005,
        (10, 100): MSSQL_2005,  # 2008 / 2008 R2
        (11, 110): MSSQL_2012,
        (12, 120): MSSQL_2012,
        (13, 130): MSSQL_2016,
        (16, 160): MSSQL_2016,
        (13, 100): MSSQL_2005,  # a database kept at 2008's level on a 2016 server
        (10, 80): MSSQL_2000,  # the lower of version and compatibility level decides
        (15, None): MSSQL_2016,
    }
    for (major, level), expected in cases.items():
        assert mssql_strategy(major, level) is expected, (major, level)
    with pytest.raises(UnsupportedServerError):
        mssql_strategy(7, 70)
    with pytest.raises(UnsupportedServerError):
        major_version("Microsoft SQL Server")


class TsqlEvaluator:
    """Evaluates the T-SQL expressions the strategies emit, with T-SQL's semantics.

    ``hashed`` records every ``HASHBYTES`` input, so tests see what the server would hash.
    """

    def __init__(self, row: Mapping[str, str | None]) -> None:
        self.row = row
        self.hashed: list[bytes] = []

    def __call__(self, node: Any) -> Any:
        if isinstance(node, (exp.Paren, exp.Alias)):
            return self(node.this)
        if isinstance(node, exp.Column):
            return self.row[node.name]
        if isinstance(node, exp.Null):
            return None
        if isinstance(node, exp.Literal):
            return node.this if node.is_string else int(node.this)
        if isinstance(node, exp.Is):
            return self(node.this) is None
        if isinstance(node, exp.Case):
            for branch in node.args["ifs"]:
                if self(branch.this):
                    return self(branch.args["true"])
            default = node.args.get("default")
            return self(default) if default is not None else None
        if isinstance(node, exp.Add):  # '+': string or binary concatenation, NULL wins
            left, right = self(node.left), self(node.right)
            if left is None or right is None:
                return None
            assert type(left) is type(right), (left, right)
            return left + right
        if isinstance(node, exp.Concat):  # NULL reads as ''
            return "".join("" if (v := self(e)) is None else str(v) for e in node.expressions)
        if isinstance(node, (exp.Convert, exp.Cast)):
            value = self(node.this) if isinstance(node, exp.Cast) else self(node.expression)
            target = (node.args["to"] if isinstance(node, exp.Cast) else node.this).sql().upper()
            if value is None:
                return None
            if target.startswith("INT"):
                return int.from_bytes(value, "big", signed=True)
            return value if isinstance(value, str) else str(value)
        if isinstance(node, exp.Anonymous) and node.name.upper() == "DATALENGTH":
            value = self(node.expressions[0])
            return None if value is None else len(value.encode("cp1252"))
        if isinstance(node, (exp.SHA, exp.SHA2, exp.MD5)):
            data = self(node.this)
            data = data.encode("cp1252") if isinstance(data, str) else data
            self.hashed.append(data)
            algorithm = (
                "sha1"
                if isinstance(node, exp.SHA)
                else "md5"
                if isinstance(node, exp.MD5)
                else f"sha{node.args['length'].this}"
            )
            return hashlib.new(algorithm, data).digest()
        raise NotImplementedError(f"{type(node).__name__}: {node.sql('tsql')}")


def _row_hash_expression(t: Table, strategy, budget: int | None = None) -> Any:
    tree = sqlglot.parse_one(tsql(fingerprint_query(t, "dbo", strategy, budget)), read="tsql")
    for select in tree.find_all(exp.Select):
        for e in select.expressions:
            if e.alias_or_name == "_row_hash":
                return e
    raise AssertionError("no _row_hash")


def _evaluate(t: Table, strategy, row: Mapping[str, str | None], budget: int | None = None):
    evaluator = TsqlEvaluator(row)
    digest = evaluator(_row_hash_expression(t, strategy, budget))
    return digest, evaluator.hashed


def _longest(c: Column) -> str:
    return {"uid": "A" * 36, "datetime": "2021-01-02 03:04:05.678", "int": "-2147483648"}.get(
        c.kind, "x" * (c.length or 1)
    )


SERVER_SIDE = [s for s in MSSQL_STRATEGIES if s.server_side]


@pytest.mark.parametrize("strategy", SERVER_SIDE, ids=lambda s: s.name)
@pytest.mark.parametrize("budget", [None, 120], ids=["own limit", "pieces of 120 bytes"])
def test_the_row_encoding_is_injective(strategy, budget: int | None) -> None:
    t = table("Personen")
    varchar = [c.name for c in t.columns if c.kind == "varchar"]
    first, second = varchar[0], varchar[1]
    base: dict[str, str | None] = {c.name: None for c in t.columns}
    base[t.columns[0].name] = "0" * 36
    rows = {
        "all NULL": base,
        "empty": {**base, first: ""},
        "value": {**base, first: "ab"},
        "moved": {**base, second: "ab"},
        "split": {**base, first: "a", second: "b"},
        "colon": {**base, first: "a:", second: ""},
        "trailing space": {**base, first: "ab "},
        "NULL text": {**base, first: "NULL"},
    }
    digests = {}
    inputs = {}
    for name, row in rows.items():
        digest, hashed = _evaluate(t, strategy, row, budget)
        digests[name] = digest
        inputs[name] = tuple(hashed)
    assert len(set(inputs.values())) == len(rows), "two rows give the same hash input"
    assert len(set(digests.values())) == len(rows), "two rows give the same hash"
    if budget is not None:
        assert len(pieces(t.columns, budget)) > 1
        assert all(len(h) > 1 for h in inputs.values()), "hashed in pieces, then combined"


@pytest.mark.parametrize("strategy", SERVER_SIDE, ids=lambda s: s.name)
def test_no_hash_input_exceeds_the_limit_of_its_version(strategy) -> None:
    for t in TABLES:
        row = {c.name: _longest(c) for c in t.columns}
        _, hashed = _evaluate(t, strategy, row)
        if strategy.piece_bytes is not None:
            assert max(map(len, hashed)) <= PIECE_BYTES, t.name
    # A budget far below the widest table forces pieces; the longest rows still fit in each.
    antrag = table("Antrag")
    row = {c.name: _longest(c) for c in antrag.columns}
    _, hashed = _evaluate(antrag, MSSQL_2005, row, budget=2100)
    assert len(hashed) > 2 and max(map(len, hashed[:-1])) <= 2100


def test_the_client_side_strategy_hashes_the_same_encoding() -> None:
    """SQL Server 2000: the fields the client hashes are those the T-SQL strategies hash."""
    t = table("Bezirk")
    row = {"bez_ID": "0" * 36, "bez_Name": None}
    _, hashed = _evaluate(t, MSSQL_2016, row)
    expected = int.from_bytes(hashlib.sha256(hashed[0]).digest()[:8], "big", signed=True)
    assert client_row_hash(["0" * 36, None]) == expected
    assert client_row_hash(["a", None]) != client_row_hash(["a", ""])
    assert client_row_hash(["ab", "c"]) != client_row_hash(["a", "bc"])
