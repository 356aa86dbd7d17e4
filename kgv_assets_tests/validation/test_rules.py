"""Domain and business rules (``kgv_assets.validation.rules``) on a real migrated database.

Format rules pass on the migrated data and fail (ERROR) on a value the loader would have
written differently or rejected — here put in with the domain's own constraint dropped, the
situation the check guards against. Business rules flag the dirt planted in the demo data
(WARN, with counts and keys) and pass once it is corrected. Unconverted legacy values are
counted per legacy column.
"""

from __future__ import annotations

from typing import LiteralString

import psycopg
import pytest
from psycopg import sql

from kgv_assets.transform.emails import parse_email
from kgv_assets.validation.registry import CHECKS_BY_TABLE
from kgv_assets.validation.rules import FormatRule, SqlRule, unconverted_values

pytestmark = pytest.mark.slow
APPLICATIONS = CHECKS_BY_TABLE["applications"]
RULES = {r.name: r for r in APPLICATIONS.rules}


def _first_key(conn: psycopg.Connection, where: LiteralString = "TRUE") -> str:
    row = conn.execute(
        sql.SQL("SELECT id::text FROM kgv.applications WHERE {} ORDER BY id LIMIT 1").format(
            sql.SQL(where)
        )
    ).fetchone()
    assert row
    return row[0]


def test_format_rules_pass_on_migrated_data(tx: psycopg.Connection) -> None:
    for spec in (APPLICATIONS, CHECKS_BY_TABLE["users"]):
        for rule in spec.rules:
            if isinstance(rule, FormatRule):
                outcome = rule.evaluate(tx, spec.table, None)
                assert outcome.passed, outcome.summary
                assert outcome.figures["values_checked"] > 0


@pytest.mark.parametrize(
    ("rule", "column", "domain", "bad"),
    [
        ("applications_emails_valid", "email", "email_address", "Anna@Example.DE"),
        ("applications_emails_valid", "email", "email_address", "anna..b@example.de"),
        ("applications_phone_numbers_valid", "mobile_phone", "phone_e164", "+4900000000"),
        ("applications_postal_codes_valid", "postal_code", "postal_code_de", "1234"),
    ],
)
def test_a_value_the_loader_would_not_write_fails(
    tx: psycopg.Connection, rule: str, column: str, domain: str, bad: str
) -> None:
    tx.execute(
        sql.SQL("ALTER DOMAIN {} DROP CONSTRAINT {}").format(
            sql.Identifier("kgv", domain), sql.Identifier(f"{domain}_check")
        )
    )
    key = _first_key(tx)
    tx.execute(
        sql.SQL("UPDATE kgv.applications SET {} = %s WHERE id = %s").format(sql.Identifier(column)),
        (bad, key),
    )
    outcome = RULES[rule].evaluate(tx, APPLICATIONS.table, None)
    assert not outcome.passed and outcome.severity == "ERROR"
    assert outcome.figures["invalid_values"] == 1
    assert list(outcome.samples.values()) == [[key]]
    assert column in next(iter(outcome.samples))
    assert bad not in outcome.summary and bad not in str(outcome.samples)


def test_format_rule_uses_the_loaders_converter() -> None:
    rule = RULES["applications_emails_valid"]
    assert isinstance(rule, FormatRule) and rule.columns == {"email": parse_email}


@pytest.mark.parametrize(
    ("rule", "fix"),
    [
        (
            "applications_confirmed_after_applying",
            "UPDATE kgv.applications SET confirmation_date = application_date"
            " WHERE confirmation_date < application_date",
        ),
        (
            "applications_waiting_list_numbers_unique",
            "UPDATE kgv.applications SET waiting_list_number_32 = 'fixed-' || id,"
            " waiting_list_number_33 = 'fixed-' || id WHERE is_active",
        ),
    ],
)
def test_business_rules_flag_the_planted_dirt_and_pass_once_fixed(
    tx: psycopg.Connection, rule: str, fix: str
) -> None:
    check = RULES[rule]
    assert isinstance(check, SqlRule) and check.severity == "WARN"
    found = check.evaluate(tx, APPLICATIONS.table, None)
    assert not found.passed and found.severity == "WARN"
    assert found.figures["violations"] >= 3  # the demo plants at least three of each
    assert 0 < found.figures["violation_percent"] < 100
    assert 0 < len(found.samples["violating_keys"]) <= 5
    tx.execute(sql.SQL(fix))  # type: ignore[arg-type]
    assert check.evaluate(tx, APPLICATIONS.table, None).passed


def test_a_new_violation_is_counted_in_its_partition(tx: psycopg.Connection) -> None:
    check = RULES["applications_confirmed_after_applying"]
    before = check.evaluate(tx, APPLICATIONS.table, None).figures["violations"]
    row = tx.execute(
        "UPDATE kgv.applications SET confirmation_date = application_date - interval '1 day'"
        " WHERE id = (SELECT id FROM kgv.applications WHERE application_date IS NOT NULL"
        " AND NOT confirmation_date < application_date ORDER BY id LIMIT 1)"
        " RETURNING id::text, legacy_partition"
    ).fetchone()
    assert row
    after = check.evaluate(tx, APPLICATIONS.table, [row[1]])
    assert after.figures["violations"] >= 1
    assert check.evaluate(tx, APPLICATIONS.table, None).figures["violations"] == before + 1


def test_unconverted_values_are_counted_per_legacy_column(tx: psycopg.Connection) -> None:
    districts = CHECKS_BY_TABLE["districts"].table
    assert unconverted_values(tx, districts).passed
    key = tx.execute(
        'UPDATE kgv.districts SET legacy = \'{"bez_Name": "raw"}\''
        " WHERE id = (SELECT id FROM kgv.districts ORDER BY id LIMIT 1) RETURNING id::text"
    ).fetchone()
    assert key
    outcome = unconverted_values(tx, districts)
    assert not outcome.passed and outcome.severity == "WARN"
    assert outcome.figures["raw_bez_Name"] == 1
    assert outcome.samples == {"bez_Name": [key[0]]}

    applications = unconverted_values(tx, APPLICATIONS.table)
    assert not applications.passed
    assert applications.figures["raw_an_EMail"] > 0  # the planted invalid e-mails
    per_column = applications.tables["per_column"].set_index("legacy_column")
    assert per_column.loc["an_EMail", "rows"] == applications.figures["raw_an_EMail"]
