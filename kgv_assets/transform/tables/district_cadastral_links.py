"""Bezirke_Katasterbezirke → kgv.district_cadastral_links (the legacy many-to-many)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import psycopg
from psycopg import sql

from kgv_assets.layout import target_table
from kgv_assets.transform.tables import checks
from kgv_assets.transform.tables.mapping import (
    Rule,
    RuleLoader,
    TableMapping,
    Transformed,
    legacy_values,
    reasons_where,
)
from kgv_assets.transform.tables.reference import read_frame
from kgv_assets.transform.text import clean_text

MAPPING = TableMapping(
    target_table("district_cadastral_links"),
    rules=(
        Rule("district_id", "bez_Name", doc="the district whose name equals the trimmed bez_Name"),
        Rule(
            "cadastral_district_id",
            "kat_Katasterbezirk",
            doc="the cadastral district whose code equals the trimmed kat_Katasterbezirk; "
            "where several share the code, the one whose name equals kat_KatasterbezirkName",
        ),
    ),
    not_stored=(
        (
            "kat_KatasterbezirkName",
            "not stored on the link (the cadastral district has the name); where it differs "
            "from that name, the raw value is kept in legacy",
        ),
    ),
    notes=(
        "No ID column: exact copies of a row are quarantined as `duplicate`.",
        "Links to an unknown district or cadastral code are quarantined as `orphan`; a code "
        "that names several cadastral districts, none by that name, as `ambiguous`.",
        "Two legacy rows resolving to the same pair: the first is kept, the other quarantined "
        "as `conflicting duplicate`.",
    ),
)

SCHEMA = checks.target_schema(
    MAPPING,
    district_id=pa.Column(object, nullable=False),
    cadastral_district_id=pa.Column(object, nullable=False),
)


class DistrictCadastralLinksLoader(RuleLoader):
    """Loads kgv.district_cadastral_links."""

    mapping = MAPPING
    schema = SCHEMA
    parents = ("districts", "cadastral_districts")

    def prepare(self, conn: psycopg.Connection) -> None:  # noqa: D102
        self.districts = read_frame(conn, sql.SQL("SELECT id::text, name FROM kgv.districts"))
        self.cadastral = read_frame(
            conn, sql.SQL("SELECT id::text, code, name FROM kgv.cadastral_districts")
        )

    def transform(self, staged: pd.DataFrame, conn: psycopg.Connection) -> Transformed:  # noqa: D102
        name = clean_text(staged["bez_Name"]).values
        code = clean_text(staged["kat_Katasterbezirk"]).values
        cad_name = clean_text(staged["kat_KatasterbezirkName"]).values
        district = name.map(self.districts.drop_duplicates("name").set_index("name")["id"])

        candidates = pd.DataFrame({"row": staged.index, "code": code, "wanted": cad_name}).merge(
            self.cadastral, on="code", how="inner"
        )
        found = candidates.groupby("row").size().reindex(staged.index, fill_value=0)
        by_name = candidates[candidates["wanted"] == candidates["name"]].drop_duplicates("row")
        only = candidates[candidates["row"].map(found) == 1]
        chosen = pd.concat([by_name, only]).drop_duplicates("row").set_index("row")
        cadastral = chosen["id"].reindex(staged.index)

        rows = pd.DataFrame(
            {"district_id": district, "cadastral_district_id": cadastral}, index=staged.index
        )
        rejected = reasons_where(
            {
                "orphan: unknown district name": district.isna(),
                "orphan: unknown cadastral code": found == 0,
                "ambiguous: cadastral code of several districts": (found > 1) & cadastral.isna(),
            }
        )
        rows = rows.drop(index=rejected.index)
        taken = rows.duplicated(keep="first")
        rejected = pd.concat([rejected, reasons_where({"conflicting duplicate": taken})])
        rows = rows.drop(index=rows.index[taken])
        differs = cad_name.loc[rows.index] != chosen["name"].reindex(rows.index)
        raw = staged.loc[rows.index, ["kat_KatasterbezirkName"]]
        return Transformed(rows.assign(legacy=legacy_values(raw.where(differs))), rejected)
