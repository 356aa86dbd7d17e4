"""Domain and business rules of the loaded data, with a severity each.

Three kinds, all declared per table in ``kgv_assets.validation.registry``:

- ``FormatRule`` (ERROR): every non-NULL value is exactly what the loader's own conversion
  rule produces from it (``parse_email``, ``parse_phone``, …) — valid and canonical. A pandera
  schema built from those converters runs over the table streamed in chunks (the same rules as
  loading, so check and load cannot disagree). Which columns a format rule checks comes from
  the table's mapping: every column whose rule applies one of the canonical converters of
  ``FORMATS`` (``format_rules``).
- ``SqlRule``: a condition on a row (alias ``t``) that marks a violation, evaluated by
  PostgreSQL in one pass (e.g. a confirmation date before the application date).
- ``unconverted_values`` (WARN, every table with a ``legacy`` column): legacy values that did
  not make it into their column and are kept raw in ``legacy``, per legacy column. The planted
  dirt of the demo data shows up here, counted, never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
import psycopg
from psycopg import sql

from kgv_assets.partitions import sort_partition_keys
from kgv_assets.transform.conversion import Converted
from kgv_assets.transform.emails import parse_email
from kgv_assets.transform.phones import parse_phone
from kgv_assets.transform.postal_codes import parse_postal_code
from kgv_assets.transform.tables.mapping import TableMapping
from kgv_assets.validation.outcome import SAMPLE_SIZE, Outcome, Severity, percent, sample
from kgv_assets.validation.reasons import failure_reasons
from kgv_assets.validation.tables import CheckedTable

CHUNK_ROWS = 50_000
Converter = Callable[[pd.Series], Converted]


@dataclass(frozen=True)
class SqlRule:
    """A rule whose violations PostgreSQL finds: ``violation`` is a condition on alias ``t``.

    Attributes:
        name: The check's name, a predicate (``applications_confirmed_after_applying``).
        description: The rule in words (what holds for a row that does not violate it).
        violation: The SQL condition that marks a violating row (static SQL, no values).
        severity: ERROR where a violation means the migration is wrong, WARN where the legacy
            data breaks a business rule and the migration keeps and flags it.
    """

    name: str
    description: str
    violation: sql.Composable
    severity: Severity = "WARN"

    def evaluate(
        self, conn: psycopg.Connection, table: CheckedTable, partitions: Sequence[str] | None
    ) -> Outcome:
        """Count the violating rows per partition and show a few of their keys."""
        counts = table.count_where(conn, {"violations": self.violation}, partitions)
        rows, violations = int(counts["rows"].sum()), int(counts["violations"].sum())
        keys = (
            table.sample_keys(conn, self.violation, partitions, SAMPLE_SIZE) if violations else []
        )
        summary = (
            f"{table.qualified}: no violation in {rows} rows."
            if not violations
            else f"{table.qualified}: {violations} of {rows} rows"
            f" ({percent(violations, rows)}%) break the rule: {self.description}"
        )
        return Outcome(
            passed=violations == 0,
            severity=self.severity,
            summary=summary,
            figures={
                "rows": rows,
                "violations": violations,
                "violation_percent": percent(violations, rows),
            },
            tables={"per_partition": counts},
            samples={"violating_keys": keys} if keys else {},
        )


def as_loaded(convert: Converter) -> pa.Check:
    """A pandera check: the value is what ``convert`` makes of it (valid and canonical)."""

    def check(values: pd.Series) -> pd.Series:
        converted = convert(values.astype(object))
        return converted.values.eq(values) & ~converted.failed

    return pa.Check(check, name=f"not as {convert.__name__} writes it")


@dataclass(frozen=True)
class FormatRule:
    """Non-NULL values of some columns are valid: the loader's converter leaves them unchanged.

    Attributes:
        name: The check's name (``applications_emails_valid``).
        description: The rule in words.
        columns: Target column → the converter the loader applies to it.
        severity: ERROR: an invalid value in the target means a load or domain is broken.
    """

    name: str
    description: str
    columns: Mapping[str, Converter]
    severity: Severity = "ERROR"

    @property
    def schema(self) -> pa.DataFrameSchema:
        """The pandera schema of the rule (NULL allowed, non-NULL values checked)."""
        return pa.DataFrameSchema(
            {
                column: pa.Column(object, nullable=True, checks=[as_loaded(convert)])
                for column, convert in self.columns.items()
            },
            name=self.name,
        )

    def _chunks(
        self, conn: psycopg.Connection, table: CheckedTable, partitions: Sequence[str] | None
    ) -> Iterator[pd.DataFrame]:
        scope, params = table.scope(partitions)
        columns = list(self.columns)
        query = sql.SQL(
            "SELECT {key} AS _key, {p} AS _partition, {cols} FROM {t} t"
            " WHERE {scope} AND ({any_value})"
        ).format(
            key=table.key_text,
            p=table.partition,
            cols=sql.SQL(", ").join(
                sql.SQL("t.{c}::text AS {c}").format(c=sql.Identifier(c)) for c in columns
            ),
            t=table.ident,
            scope=scope,
            any_value=sql.SQL(" OR ").join(
                sql.SQL("t.{} IS NOT NULL").format(sql.Identifier(c)) for c in columns
            ),
        )
        with conn.transaction(), conn.cursor(name="format_rule") as cur:
            cur.itersize = CHUNK_ROWS
            cur.execute(query, params)
            while rows := cur.fetchmany(CHUNK_ROWS):
                yield pd.DataFrame.from_records(
                    rows, columns=["_key", "_partition", *columns], coerce_float=False
                )

    def evaluate(
        self, conn: psycopg.Connection, table: CheckedTable, partitions: Sequence[str] | None
    ) -> Outcome:
        """Stream the non-NULL values, validate each chunk, count the invalid values."""
        schema = self.schema
        checked: list[pd.DataFrame] = []
        invalid: list[pd.DataFrame] = []
        for chunk in self._chunks(conn, table, partitions):
            present = chunk[list(self.columns)].notna()
            checked.append(present.groupby(chunk["_partition"]).sum())
            reasons = failure_reasons(chunk, schema).explode()
            if len(reasons):
                invalid.append(
                    pd.DataFrame(
                        {
                            "reason": reasons.to_numpy(),
                            "_key": chunk.loc[reasons.index, "_key"].to_numpy(),
                            "_partition": chunk.loc[reasons.index, "_partition"].to_numpy(),
                        }
                    )
                )
        values = (
            pd.concat(checked).groupby(level=0).sum()
            if checked
            else pd.DataFrame(columns=list(self.columns), dtype="int64")
        )
        found = (
            pd.concat(invalid)
            if invalid
            else pd.DataFrame(columns=["reason", "_key", "_partition"])
        )
        per_partition = pd.DataFrame(
            {
                "values_checked": values.sum(axis=1),
                "invalid_values": found.groupby("_partition").size(),
            }
        ).fillna(0)
        per_partition = per_partition.astype("int64").reindex(
            sort_partition_keys([str(p) for p in per_partition.index])
        )
        n_checked, n_invalid = int(per_partition["values_checked"].sum()), len(found)
        by_reason = found.groupby("reason").size()
        figures: dict[str, int | float] = {
            "values_checked": n_checked,
            "invalid_values": n_invalid,
            "invalid_percent": percent(n_invalid, n_checked),
        }
        figures.update({f"checked_{c}": int(values[c].sum()) for c in self.columns})
        summary = (
            f"{table.qualified}: all {n_checked} non-NULL values valid ({', '.join(self.columns)})."
            if not n_invalid
            else f"{table.qualified}: {n_invalid} of {n_checked} values invalid — "
            + ", ".join(f"{r}: {n}" for r, n in by_reason.items())
        )
        return Outcome(
            passed=n_invalid == 0,
            severity=self.severity,
            summary=summary,
            figures=figures,
            tables={"per_partition": per_partition.rename_axis("partition").reset_index()},
            samples={
                str(reason): sample(group["_key"]) for reason, group in found.groupby("reason")
            },
        )


Rule = SqlRule | FormatRule


@dataclass(frozen=True)
class Format:
    """What a canonical converter's output looks like, for the format check derived from it.

    Attributes:
        noun: What the values are, in the check's name (``<table>_<noun>_valid``).
        rule: What holds for every non-NULL value the converter wrote.
    """

    noun: str
    rule: str


FORMATS: dict[Converter, Format] = {
    parse_email: Format("emails", "valid e-mail addresses (email-validator), normalised"),
    parse_postal_code: Format("postal_codes", "German postal codes (five digits)"),
    parse_phone: Format("phone_numbers", "valid phone numbers (libphonenumber) in E.164 form"),
}
"""The converters whose output is a canonical form a check can verify, in check order."""


def format_rules(mapping: TableMapping) -> tuple[FormatRule, ...]:
    """One format rule per canonical converter the mapping applies, over its columns."""
    rules = []
    for convert, fmt in FORMATS.items():
        columns = [r.target for r in mapping.rules if r.convert is convert]
        if columns:
            rules.append(
                FormatRule(
                    f"{mapping.target}_{fmt.noun}_valid",
                    f"Non-NULL values of {', '.join(columns)} are {fmt.rule}: what the"
                    f" loader's {convert.__name__} writes.",
                    dict.fromkeys(columns, convert),
                )
            )
    return tuple(rules)


def unconverted_values(
    conn: psycopg.Connection, table: CheckedTable, partitions: Sequence[str] | None = None
) -> Outcome:
    """Legacy values kept raw in ``legacy`` because they did not convert, per legacy column.

    Always WARN: such a row is loaded (the value NULL in its column, the raw text kept), so
    nothing is lost, but a person should look at the values.
    """
    scope, params = table.scope(partitions)
    per_partition = table.count_where(
        conn, {"rows_with_raw_values": sql.SQL("t.legacy IS NOT NULL")}, partitions
    )
    rows = conn.execute(
        sql.SQL(
            "SELECT k, count(*), (array_agg({key} ORDER BY {key}))[1:%s]"
            " FROM {t} t CROSS JOIN LATERAL jsonb_object_keys(t.legacy) k"
            " WHERE t.legacy IS NOT NULL AND {scope} GROUP BY k ORDER BY k"
        ).format(key=table.key_text, t=table.ident, scope=scope),
        [SAMPLE_SIZE, *params],
    ).fetchall()
    total = int(per_partition["rows"].sum())
    affected = int(per_partition["rows_with_raw_values"].sum())
    per_column = pd.DataFrame.from_records(
        [(k, n, percent(n, total)) for k, n, _ in rows],
        columns=["legacy_column", "rows", "percent"],
    )
    figures: dict[str, int | float] = {
        "rows": total,
        "rows_with_raw_values": affected,
        "raw_values_percent": percent(affected, total),
    }
    figures.update({f"raw_{k}": int(n) for k, n, _ in rows})
    summary = (
        f"{table.qualified}: every legacy value converted in {total} rows."
        if not affected
        else f"{table.qualified}: {affected} of {total} rows ({percent(affected, total)}%) keep"
        " legacy values that did not convert (NULL in their column, raw in legacy): "
        + ", ".join(f"{k} {n}" for k, n, _ in rows)
        + "."
    )
    return Outcome(
        passed=affected == 0,
        severity="WARN",
        summary=summary,
        figures=figures,
        tables={"per_column": per_column, "per_partition": per_partition},
        samples={k: list(keys) for k, _, keys in rows},
    )
