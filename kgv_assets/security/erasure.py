"""GDPR erasure (Art. 17) and export (Art. 15) of one applicant, by application id.

The rule: an application is the person's record. Erasing it keeps the row (its key, file
reference, waiting-list numbers, dates and flags: what the city's statistics and the history's
foreign keys need) and sets every personal column to NULL: names, birthdays, salutations and
titles, address, phones, e-mail, the free texts (wishes, remarks) and the raw legacy values
(``legacy``). In its history the free texts (note, comment) and ``legacy`` go; the clerk who
worked on it (case_worker) is the city's, not the applicant's. The same legacy columns are
redacted in staging and in the quarantine's raw rows, and the same fields in the old and new
rows of the audit trail (with the generated ``full_name`` and ``search``).

``migration.erasures`` records who erased which key when (no personal data), and it is the
suppression list: every staging load redacts the rows of listed keys right after landing them
(``redact_suppressed``), so neither a full load nor the incremental sync brings the data back
while the legacy system still holds it. The row hash staging recorded is the legacy row's, so
the content checks still find each erased row in the target: it is accounted as loaded, and
the report counts it as erased.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from kgv_assets.backup import dumps, retention
from kgv_assets.layout import STAGING, TARGET
from kgv_assets.load.writer import analyze
from kgv_assets.transform.tables import application_history, applications

APPLICATION_COLUMNS = (
    "salutation", "title", "first_name", "last_name", "birth_date",
    "salutation_2", "title_2", "first_name_2", "last_name_2", "birth_date_2",
    "letter_salutation", "street", "postal_code", "city",
    "phone", "mobile_phone", "mobile_phone_2", "business_phone", "email",
    "preferences", "remarks", "legacy",
)  # fmt: skip
"""The personal columns of kgv.applications, NULL after an erasure."""
HISTORY_COLUMNS = ("note", "comment", "legacy")
"""The personal columns of kgv.application_history, NULL after an erasure."""
GENERATED = ("full_name", "search")
"""Generated from the names and address: in the audit trail's rows as well."""
LEGACY_TABLE = "Antrag"


@dataclass(frozen=True)
class Place:
    """One legacy table's share of an applicant: how its rows are found, what is personal."""

    legacy_table: str
    match_column: str
    """The legacy column holding the application id (the key, or the history's reference)."""
    target: str
    target_match: str
    target_columns: tuple[str, ...]

    @property
    def legacy_columns(self) -> list[str]:
        """The legacy columns the personal target columns are made from (the mapping's rules)."""
        mapping = (
            applications.MAPPING if self.target == "applications" else (application_history.MAPPING)
        )
        return [r.source for r in mapping.rules if r.target in self.target_columns and r.source]


PLACES = (
    Place("Antrag", "an_ID", "applications", "id", APPLICATION_COLUMNS),
    Place("Verlauf", "verl_An_ID", "application_history", "application_id", HISTORY_COLUMNS),
)
PLACES_BY_TABLE = {p.legacy_table: p for p in PLACES}


def _normal(key: str) -> str:
    """The application id as the target stores it; ValueError for anything but a uuid."""
    return str(uuid.UUID(key.strip()))


def suppressed_keys(conn: psycopg.Connection) -> list[str]:
    """The erased application ids (lower-case), empty where there is no register yet."""
    found = conn.execute("SELECT to_regclass('migration.erasures')").fetchone()
    if not (found and found[0]):
        return []
    rows = conn.execute(
        "SELECT legacy_key FROM migration.erasures WHERE legacy_table = %s", (LEGACY_TABLE,)
    ).fetchall()
    return [r[0] for r in rows]


def _redact_legacy(conn: psycopg.Connection, place: Place, keys: Sequence[str]) -> dict[str, int]:
    """NULL the personal legacy columns of ``keys``' rows in staging and the quarantine."""
    columns = place.legacy_columns
    match = sql.SQL("lower({}::text) = ANY(%s)").format(sql.Identifier(place.match_column))
    staged = conn.execute(
        sql.SQL("UPDATE {} SET {} WHERE {} AND ({})").format(
            sql.Identifier(STAGING, place.legacy_table),
            sql.SQL(", ").join(sql.SQL("{} = NULL").format(sql.Identifier(c)) for c in columns),
            match,
            sql.SQL(" OR ").join(
                sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in columns
            ),
        ),
        (list(keys),),
    ).rowcount
    nulls = json.dumps(dict.fromkeys(columns))
    quarantined = conn.execute(
        "UPDATE migration.rejected_rows SET raw_row = raw_row || %s::jsonb"
        " WHERE source_table = %s AND lower(raw_row ->> %s) = ANY(%s)"
        " AND raw_row <> raw_row || %s::jsonb",
        (nulls, place.legacy_table, place.match_column, list(keys), nulls),
    ).rowcount
    return {f"staging.{place.legacy_table}": staged, "migration.rejected_rows": quarantined}


def redact_suppressed(conn: psycopg.Connection, legacy_table: str) -> int:
    """After a staging load: redact the rows of erased applicants again; rows changed.

    One small query where nothing was ever erased or the table holds no applicant data.
    """
    place = PLACES_BY_TABLE.get(legacy_table)
    if place is None:
        return 0
    keys = suppressed_keys(conn)
    if not keys:
        return 0
    return sum(_redact_legacy(conn, place, keys).values())


@dataclass(frozen=True)
class Erasure:
    """What one erasure changed (counts per place), and when."""

    application_id: str
    erased_at: datetime
    rows: dict[str, int]
    first_time: bool


def _null_columns(conn: psycopg.Connection, place: Place, key: str) -> int:
    return conn.execute(
        sql.SQL("UPDATE {} SET {} WHERE {} = %s::uuid").format(
            sql.Identifier(TARGET, place.target),
            sql.SQL(", ").join(
                sql.SQL("{} = NULL").format(sql.Identifier(c)) for c in place.target_columns
            ),
            sql.Identifier(place.target_match),
        ),
        (key,),
    ).rowcount


def erase(conn: psycopg.Connection, application_id: str) -> Erasure:
    """Erase one applicant's personal data everywhere in the target, in one transaction.

    Raises LookupError when no application with that id is held anywhere.
    """
    key = _normal(application_id)
    with conn.transaction():
        held = conn.execute(
            sql.SQL(
                "SELECT EXISTS (SELECT FROM kgv.applications WHERE id = %s::uuid)"
                ' OR EXISTS (SELECT FROM {} WHERE "an_ID" = %s::uuid)'
                " OR EXISTS (SELECT FROM migration.rejected_rows"
                "            WHERE source_table = 'Antrag' AND lower(raw_row ->> 'an_ID') = %s)"
                " OR EXISTS (SELECT FROM migration.erasures WHERE legacy_key = %s)"
            ).format(sql.Identifier(STAGING, LEGACY_TABLE)),
            (key, key, key, key),
        ).fetchone()
        if not (held and held[0]):
            raise LookupError(f"no application {key} is held in the target")
        # The erasure is not a change of data to be audited (the trail would keep the very
        # values being erased): its record is the migration.erasures row.
        conn.execute("SET LOCAL kgv.audit = 'off'")
        rows: dict[str, int] = {}
        for place in PLACES:
            rows[f"kgv.{place.target}"] = _null_columns(conn, place, key)
            for name, n in _redact_legacy(conn, place, [key]).items():
                rows[name] = rows.get(name, 0) + n
        audit = 0
        for place in PLACES:
            fields = [*place.target_columns, *(GENERATED if place.target == "applications" else ())]
            found = conn.execute(
                "SELECT audit.redact(%s, %s, %s, %s)",
                (f"{TARGET}.{place.target}", place.target_match, key, fields),
            ).fetchone()
            audit += int(found[0]) if found else 0
        rows["audit.log"] = audit
        inserted = conn.execute(
            "INSERT INTO migration.erasures (legacy_table, legacy_key, rows_redacted)"
            " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING erased_at",
            (LEGACY_TABLE, key, json.dumps(rows)),
        ).fetchone()
        if inserted is None:
            first = conn.execute(
                "SELECT erased_at FROM migration.erasures WHERE legacy_table = %s"
                " AND legacy_key = %s",
                (LEGACY_TABLE, key),
            ).fetchone()
            assert first is not None
            erased_at = first[0]
        else:
            erased_at = inserted[0]
        # The planner's statistics sample column values (most common values): renewed.
        for place in PLACES:
            analyze(conn, TARGET, place.target)
    return Erasure(key, erased_at, rows, inserted is not None)


def _rows(
    conn: psycopg.Connection, query: sql.SQL | sql.Composed, params: Sequence[Any]
) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return [
            {k: _plain(v) for k, v in row.items()} for row in cur.execute(query, params).fetchall()
        ]


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | dict | list):
        return value
    return str(value)


def held_data(conn: psycopg.Connection, application_id: str) -> dict[str, list[dict]]:
    """Every row held about one applicant, by place (``schema.table``): the Art. 15 export.

    Needs the reviewer's login (quarantine raw rows, audit old/new rows).
    """
    key = _normal(application_id)
    places: dict[str, list[dict]] = {}
    for place in PLACES:
        places[f"{TARGET}.{place.target}"] = _rows(
            conn,
            sql.SQL("SELECT * FROM {} WHERE {} = %s::uuid ORDER BY 1").format(
                sql.Identifier(TARGET, place.target), sql.Identifier(place.target_match)
            ),
            (key,),
        )
        places[f"{STAGING}.{place.legacy_table}"] = _rows(
            conn,
            sql.SQL("SELECT * FROM {} WHERE {} = %s::uuid").format(
                sql.Identifier(STAGING, place.legacy_table), sql.Identifier(place.match_column)
            ),
            (key,),
        )
    places["migration.rejected_rows"] = _rows(
        conn,
        sql.SQL(
            "SELECT * FROM migration.rejected_rows WHERE (source_table = 'Antrag'"
            " AND lower(raw_row ->> 'an_ID') = %s) OR (source_table = 'Verlauf'"
            " AND lower(raw_row ->> 'verl_An_ID') = %s) ORDER BY id"
        ),
        (key, key),
    )
    places["audit.log"] = _rows(
        conn,
        sql.SQL(
            "SELECT * FROM audit.log WHERE (table_name = 'kgv.applications'"
            " AND lower(row_key ->> 'id') = %s) OR (table_name = 'kgv.application_history'"
            " AND (lower(old_row ->> 'application_id') = %s"
            " OR lower(new_row ->> 'application_id') = %s)) ORDER BY id"
        ),
        (key, key, key),
    )
    places["migration.erasures"] = _rows(
        conn,
        sql.SQL("SELECT * FROM migration.erasures WHERE legacy_table = %s AND legacy_key = %s"),
        (LEGACY_TABLE, key),
    )
    return {name: rows for name, rows in places.items() if rows}


def write_export(path: Path, application_id: str, places: dict[str, list[dict]]) -> None:
    """The export as JSON, readable by its owner only (it is the person's data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    document = {
        "application_id": _normal(application_id),
        "exported_at": datetime.now(UTC).isoformat(),
        "places": places,
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


@dataclass(frozen=True)
class HeldBackup:
    """A dump that may still hold the person's data, and when retention deletes it."""

    name: str
    taken_at: datetime
    deleted_by: date | None
    """The last day retention keeps it (None: tagged ``archive``, kept until untagged)."""


def latest_deletion(taken_at: datetime, policy: retention.Policy | None = None) -> date:
    """The day after the longest window (daily, weekly, monthly) that can keep a copy.

    Assumes backups go on being taken: the newest copy is always kept, so the last backup
    before a pause stays until a newer one exists.
    """
    policy = policy or retention.Policy()
    day = taken_at.astimezone(ZoneInfo(policy.timezone)).date()
    daily = day + timedelta(days=policy.daily)
    weekly = day - timedelta(days=day.weekday()) + timedelta(weeks=policy.weekly)
    month = day.year * 12 + day.month - 1 + policy.monthly
    monthly = date(month // 12, month % 12 + 1, 1)
    return max(daily, weekly, monthly)


def backups_holding(folder: Path, before: datetime) -> list[HeldBackup]:
    """The dumps with data taken before ``before`` (an erasure, or now for an export)."""
    found = []
    for stored in dumps.catalogue(folder) if folder.is_dir() else []:
        manifest = stored.manifest
        if not manifest.has_data or manifest.created > before:
            continue
        archived = retention.ARCHIVE_TAG in manifest.tags
        deleted = None if archived else latest_deletion(manifest.created)
        found.append(HeldBackup(manifest.name, manifest.created, deleted))
    return sorted(found, key=lambda b: b.taken_at)


def describe_backups(held: list[HeldBackup]) -> list[str]:
    """One line per dump, for the operator (names and dates only)."""
    if not held:
        return ["no dump taken before now holds the person's data"]
    return [
        f"dump {b.name} (taken {b.taken_at:%Y-%m-%d %H:%M %Z}) still holds it: "
        + (
            f"retention deletes it by {b.deleted_by.isoformat()}"
            if b.deleted_by
            else "tagged archive, kept until the tag is removed (kgv backup tag)"
        )
        for b in held
    ]
