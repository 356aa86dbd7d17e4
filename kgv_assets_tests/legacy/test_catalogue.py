"""The catalogue is the single source of truth: T-SQL DDL and pandera schemas agree with it."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from kgv_assets.legacy.catalogue import TABLES, table
from kgv_assets.legacy.schemas import LEGACY_SCHEMAS
from kgv_assets.legacy.tsql_ddl import DDL_FILE, schema_ddl


def _parsed_ddl() -> dict[str, exp.Create]:
    batches = [b for b in DDL_FILE.read_text().split("\nGO\n") if "CREATE TABLE" in b]
    creates = [sqlglot.parse_one(b, read="tsql") for b in batches]
    return {c.this.this.name: c for c in creates if isinstance(c, exp.Create)}


def test_ddl_file_is_generated_from_the_catalogue() -> None:
    assert DDL_FILE.read_text() == schema_ddl(), "regenerate: python -m kgv_assets.legacy.tsql_ddl"


def test_ddl_has_every_table_column_type_and_key() -> None:
    ddl = _parsed_ddl()
    assert set(ddl) == {t.name for t in TABLES}
    for t in TABLES:
        create = ddl[t.name]
        assert create.this.this.db == "dbo"
        defs = [c for c in create.this.expressions if isinstance(c, exp.ColumnDef)]
        assert [c.name for c in defs] == t.column_names
        for c, d in zip(t.columns, defs, strict=True):
            expected = exp.DataType.build(c.tsql_type, dialect="tsql")
            assert d.args["kind"].sql(dialect="tsql") == expected.sql(dialect="tsql")
            not_null = any(
                isinstance(k.args.get("kind"), exp.NotNullColumnConstraint)
                and not k.args["kind"].args.get("allow_null")
                for k in d.constraints
            )
            assert not_null == (not c.nullable), (t.name, c.name)
        pks = [e for e in create.this.expressions if "PRIMARY KEY" in e.sql(dialect="tsql")]
        assert len(pks) == (1 if t.primary_key else 0), t.name
        if t.primary_key:
            assert t.primary_key in pks[0].sql(dialect="tsql")
        assert "FOREIGN KEY" not in create.sql(dialect="tsql")


def test_pandera_schemas_match_the_catalogue() -> None:
    for t in TABLES:
        schema = LEGACY_SCHEMAS[t.name]
        assert list(schema.columns) == t.column_names
        for c in t.columns:
            assert schema.columns[c.name].nullable == c.nullable


def test_catalogue_states_the_legacy_facts() -> None:
    without_pk = {t.name for t in TABLES if t.primary_key is None}
    assert without_pk == {
        "Bezirk",
        "Bezirke_Katasterbezirke",
        "Katasterbezirk",
        "Kennungen",
        "Mischenfelder",
        "Personen",
    }
    not_null = {(t.name, c.name) for t in TABLES for c in t.columns if not c.nullable}
    assert all(name.lower().endswith("_id") for _, name in not_null)
    assert ("Bezirke_Katasterbezirke", "bez_Name") not in not_null
    assert table("Antrag").column("an_Vermerk").tsql_type == "varchar(2000)"
    assert table("Antrag").column("an_Aktiv").tsql_type == "char(1)"
    partitioned = {t.name: t.partition_column for t in TABLES if t.is_partitioned}
    assert partitioned == {
        "Antrag": "an_Bewerbungsdatum",
        "Verlauf": "verl_Datum",
        "Aktenzeichen": "az_Jahr",
        "Eingangsnummer": "enr_Jahr",
    }
