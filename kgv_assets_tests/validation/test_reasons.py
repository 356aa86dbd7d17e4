"""The screened validation (``failure_reasons``) gives exactly pandera's reasons on every row.

``failure_reasons`` runs the schema's checks directly (``screened_reasons``); these tests
compare it with pandera's lazy validation of the whole frame (``pandera_reasons``) on the
dirty demo source (every legacy table) and on target frames with duplicate keys, NULLs in NOT
NULL columns and malformed values, and show the fallback to pandera where it must judge.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.schemas import LEGACY_SCHEMAS
from kgv_assets.resources.legacy_source import LegacySourceResource
from kgv_assets.transform.tables.application_history import SCHEMA as HISTORY
from kgv_assets.transform.tables.applications import SCHEMA as APPLICATIONS
from kgv_assets.validation.reasons import failure_reasons, pandera_reasons, screened_reasons

UID = "0000000{}-0000-0000-0000-000000000000"


def _same(df: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.Series:
    assert screened_reasons(df, schema) is not None, "the schema can be screened"
    fast = failure_reasons(df, schema)
    reference = pandera_reasons(df, schema)
    assert fast.sort_index().to_dict() == reference.sort_index().to_dict()
    return fast


@pytest.mark.parametrize("name", [t.name for t in TABLES])
def test_legacy_tables_of_the_dirty_demo(demo_source: Path, name: str) -> None:
    table = next(t for t in TABLES if t.name == name)
    source = LegacySourceResource(url=f"sqlite:///{demo_source}", chunk_rows=3000)
    for chunk in source.read_chunks(table):
        _same(chunk[table.column_names], LEGACY_SCHEMAS[name])


def test_dirty_legacy_rows_are_found() -> None:
    table = next(t for t in TABLES if t.name == "Mischenfelder")
    df = pd.DataFrame(
        {
            "misch_ID": [UID.format(1), "not-a-uid", None, UID.format(4)],
            "misch_Datenbankfeld": ["a", "b\x00", "c", "x" * 51],
            "misch_Dokumentfeld": ["a", None, "b", "c"],
            "misch_Kommentar": [None, "ok", "\udcff", "ok"],
        },
        index=[10, 11, 12, 13],
    )
    reasons = _same(df[table.column_names], LEGACY_SCHEMAS["Mischenfelder"])
    assert set(reasons.index) == {11, 12, 13}
    assert "misch_ID: NULL in a NOT NULL column" in reasons[12]


def test_target_frames_with_duplicates_and_bad_values() -> None:
    ids = [UID.format(i) for i in range(6)]
    df = pd.DataFrame(
        {
            "id": [ids[0], ids[1], ids[1], "NOT-A-UUID", None, ids[5]],
            "postal_code": ["50667", "5066", None, "50667", "50667", "50667"],
            "email": ["a@b.de", None, "a@b", None, None, None],
            "phone": ["+49221123456", "0221", None, None, None, None],
            "mobile_phone": [None] * 6,
            "mobile_phone_2": [None] * 6,
            "business_phone": [None] * 6,
            "is_active": [True, False, True, True, True, True],
        },
        index=[5, 4, 3, 2, 1, 0],
    )
    reasons = _same(df, APPLICATIONS)
    assert set(reasons.index) == {4, 3, 2, 1}
    assert "id: duplicate key in this load" in reasons[3]


def test_history_sizes_and_missing_parents() -> None:
    df = pd.DataFrame(
        {
            "id": [UID.format(1), UID.format(2), UID.format(3)],
            "application_id": [UID.format(9), None, UID.format(9)],
            "size_m2": pd.array([250.5, None, 0.0], dtype="Float64"),
        }
    )
    reasons = _same(df, HISTORY)
    assert set(reasons.index) == {1, 2}


def test_a_clean_frame_needs_no_pandera_report() -> None:
    df = pd.DataFrame({"id": [UID.format(1)], "application_id": [UID.format(2)], "size_m2": [1.0]})
    assert failure_reasons(df, HISTORY).empty
    assert pandera_reasons(df, HISTORY).empty


def test_a_schema_pandera_must_judge_falls_back() -> None:
    schema = pa.DataFrameSchema({"n": pa.Column(int, coerce=True, nullable=False)})
    df = pd.DataFrame({"n": ["1", "x", None]}, dtype=object)
    assert screened_reasons(df, schema) is None
    assert failure_reasons(df, schema).to_dict() == pandera_reasons(df, schema).to_dict()
    assert set(failure_reasons(df, schema).index) == {1, 2}
