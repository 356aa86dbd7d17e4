"""The target schema under sql/target, applied to a real PostgreSQL with PostGIS."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from kgv_assets.schema_migrations import SQL_DIR, SchemaDriftError, apply_sql_files

TABLE_COLUMNS = {
    "districts": {"id", "name", "description"},
    "cadastral_districts": {"id", "district_id", "code", "name", "boundary"},
    "district_cadastral_links": {"district_id", "cadastral_district_id"},
    "file_references": {"id", "district_code", "number", "year"},
    "entry_numbers": {"id", "district_code", "number", "year"},
    "applications": {
        "id",
        "file_reference",
        "file_reference_id",
        "waiting_list_number_32",
        "waiting_list_number_33",
        "salutation",
        "title",
        "first_name",
        "last_name",
        "birth_date",
        "salutation_2",
        "title_2",
        "first_name_2",
        "last_name_2",
        "birth_date_2",
        "letter_salutation",
        "street",
        "postal_code",
        "city",
        "phone",
        "mobile_phone",
        "mobile_phone_2",
        "business_phone",
        "email",
        "application_date",
        "confirmation_date",
        "current_offer_date",
        "deletion_date",
        "preferences",
        "remarks",
        "is_active",
        "deactivated_at",
        "legacy",
    },
    "application_history": {
        "id",
        "application_id",
        "event_type",
        "event_date",
        "gemarkung",
        "flur",
        "parcel",
        "size_m2",
        "case_worker",
        "note",
        "comment",
    },
    "event_types": {"code", "label"},
    "users": {
        "id",
        "salutation",
        "first_name",
        "last_name",
        "employee_number",
        "department",
        "room",
        "phone",
        "fax",
        "email",
        "dictation_code",
        "signature",
        "job_title",
        "group_id",
        "is_admin",
        "can_administrate",
        "can_manage_service_groups",
        "can_manage_priorities_sla",
        "can_manage_customers",
        "is_active",
    },
    "identifiers": {"id", "login_name", "domain", "user_id"},
    "field_mappings": {"id", "database_field", "document_field", "comment"},
}


@pytest.fixture
def db(pg: psycopg.Connection) -> psycopg.Connection:
    apply_sql_files(pg)
    return pg


def _app(conn: psycopg.Connection, **values: object) -> str:
    key = str(uuid.uuid4())
    cols = {"id": key, "legacy_hash": 1, "legacy_partition": "2020", **values}
    conn.execute(
        sql.SQL("INSERT INTO kgv.applications ({}) VALUES ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, cols)),
            sql.SQL(", ").join(sql.Placeholder() * len(cols)),
        ),
        list(cols.values()),
    )
    return key


def test_files_apply_once_and_refuse_drift(pg: psycopg.Connection, tmp_path: Path) -> None:
    copy = tmp_path / "sql"
    shutil.copytree(SQL_DIR, copy)
    assert len(apply_sql_files(pg, copy)) == len(list(copy.glob("*.sql")))
    assert apply_sql_files(pg, copy) == []
    (copy / "040_applications.sql").write_text("-- changed\n", encoding="utf-8")
    with pytest.raises(SchemaDriftError, match=r"040_applications\.sql"):
        apply_sql_files(pg, copy)


def test_tables_and_columns(db: psycopg.Connection) -> None:
    for table, columns in TABLE_COLUMNS.items():
        found = {
            r[0]
            for r in db.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'kgv' AND table_name = %s",
                (table,),
            )
        }
        assert columns <= found, (table, columns - found)
    geometry = db.execute(
        "SELECT type, srid FROM geometry_columns WHERE f_table_name = 'cadastral_districts'"
    ).fetchone()
    assert geometry == ("MULTIPOLYGON", 25832)


@pytest.mark.parametrize(
    ("column", "good", "bad"),
    [
        ("postal_code", "01067", "1067"),
        ("phone", "+49221123456", "0221 123456"),
        ("email", "anna+kgv@example.de", "anna@"),
    ],
)
def test_domains(db: psycopg.Connection, column: str, good: str, bad: str) -> None:
    _app(db, **{column: good})
    with pytest.raises(psycopg.errors.CheckViolation):
        _app(db, **{column: bad})


def test_history_is_partitioned_by_year_and_new_years_appear(db: psycopg.Connection) -> None:
    app = _app(db)
    db.execute(
        "INSERT INTO kgv.application_history (id, application_id, event_date, legacy_hash,"
        " legacy_partition) VALUES (gen_random_uuid(), %s, '2019-12-31 23:30+01', 1, '2019'),"
        " (gen_random_uuid(), %s, NULL, 1, 'undated'),"
        " (gen_random_uuid(), %s, '2040-06-01 12:00+02', 1, '2040')",
        (app, app, app),
    )
    where = dict(
        db.execute(
            "SELECT legacy_partition, tableoid::regclass::text FROM kgv.application_history"
        ).fetchall()
    )
    assert where == {
        "2019": "kgv.application_history_2019",
        "undated": "kgv.application_history_default",
        "2040": "kgv.application_history_default",
    }
    assert db.execute("SELECT kgv.ensure_history_partition(2040)").fetchone() == (True,)
    assert db.execute("SELECT kgv.ensure_history_partition(2040)").fetchone() == (False,)
    moved = db.execute(
        "SELECT tableoid::regclass::text FROM kgv.application_history"
        " WHERE legacy_partition = '2040'"
    ).fetchone()
    assert moved == ("kgv.application_history_2040",)
    brin = db.execute(
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'application_history_event_date'"
        " AND indexdef LIKE '%brin%'"
    ).fetchone()
    assert brin == (1,)


def test_audit_records_changes_and_can_be_off_for_the_bulk_load(db: psycopg.Connection) -> None:
    with db.transaction():
        app = _app(db, city="Bonn")
        db.execute("UPDATE kgv.applications SET city = 'Köln' WHERE id = %s", (app,))
        db.execute("DELETE FROM kgv.applications WHERE id = %s", (app,))
    log = db.execute(
        "SELECT operation, row_key->>'id', old_row->>'city', new_row->>'city', changed_by"
        " FROM audit.log ORDER BY id"
    ).fetchall()
    assert log == [
        ("INSERT", app, None, "Bonn", "postgres"),
        ("UPDATE", app, "Bonn", "Köln", "postgres"),
        ("DELETE", app, "Köln", None, "postgres"),
    ]
    assert db.execute("SELECT count(*) FROM kgv.applications").fetchone() == (0,), "deleted"
    with db.transaction():
        db.execute("SET LOCAL kgv.audit = 'off'")
        _app(db)
    assert db.execute("SELECT count(*) FROM audit.log").fetchone() == (3,)


def test_search_finds_typos_and_german_stems(db: psycopg.Connection) -> None:
    wanted = _app(db, first_name="Gerlinde", last_name="Mustermann", street="Gartenweg 4")
    _app(db, first_name="Otto", last_name="Schmidt", street="Hauptstraße 1")
    typo = db.execute("SELECT id::text FROM kgv.search_applicants('Mustermnn')").fetchall()
    assert typo[0] == (wanted,)
    stem = db.execute("SELECT id::text FROM kgv.search_applicants('Gartenwege')").fetchall()
    assert (wanted,) in stem


def test_reporting_views_refresh_concurrently(db: psycopg.Connection) -> None:
    _app(db, waiting_list_number_32="W32-1", application_date="2020-05-01 10:00+02")
    db.execute("SELECT kgv.refresh_reporting_views()")
    rows = db.execute("SELECT waiting_list, year, active FROM kgv.waiting_list_stats").fetchall()
    assert rows == [("32", 2020, 1)]


def test_roles_and_read_only_access(db: psycopg.Connection) -> None:
    roles = {r[0] for r in db.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'kgv_%'")}
    assert {"kgv_owner", "kgv_app", "kgv_readonly"} <= roles
    with db.transaction():
        db.execute("SET LOCAL ROLE kgv_readonly")
        db.execute("SELECT count(*) FROM kgv.applications")
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction():
            db.execute("DELETE FROM kgv.applications")
    with db.transaction():
        db.execute("SET LOCAL ROLE kgv_app")
        _app(db)
