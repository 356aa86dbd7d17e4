"""The demo source: deterministic, scalable, exactly the legacy names, every dirt planted."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from kgv_assets.cli import main
from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.legacy.demo_data import KNOWN_APPLICANT, generate
from kgv_assets.legacy.dirt import DIRT


def _digest(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        out = {}
        for t in TABLES:
            rows = db.execute(f'SELECT * FROM "{t.name}" ORDER BY rowid').fetchall()
            out[t.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.sqlite", tmp_path / "b.sqlite", tmp_path / "c.sqlite"
    generate(a, scale=0.01, seed=3)
    generate(b, scale=0.01, seed=3)
    generate(c, scale=0.01, seed=4)
    assert _digest(a) == _digest(b)
    assert all(x != y for x, y in zip(_digest(a).values(), _digest(c).values(), strict=True))


def test_counts_grow_with_scale(tmp_path: Path) -> None:
    small = generate(tmp_path / "s.sqlite", scale=0.01, seed=1)
    large = generate(tmp_path / "l.sqlite", scale=0.05, seed=1)
    assert large["Antrag"] == 5 * small["Antrag"] == 2000
    assert large["Verlauf"] > 4 * small["Verlauf"]
    assert large["Bezirk"] >= small["Bezirk"] >= 10


def test_tables_and_columns_are_the_legacy_ones(demo_source: Path) -> None:
    with sqlite3.connect(demo_source) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert names == {t.name for t in TABLES}
        for t in TABLES:
            info = db.execute(f'PRAGMA table_info("{t.name}")').fetchall()
            assert [(r[1], r[2].lower()) for r in info] == [
                (c.name, c.tsql_type) for c in t.columns
            ]
            if t.primary_key:
                dup = db.execute(
                    f'SELECT count(*) - count(DISTINCT "{t.primary_key}") FROM "{t.name}"'
                ).fetchone()
                assert dup == (0,), t.name


@pytest.mark.parametrize("dirt", DIRT, ids=lambda d: f"{d.table}:{d.name}")
def test_every_kind_of_dirt_is_planted(demo_source: Path, dirt) -> None:
    with sqlite3.connect(demo_source) as db:
        (n,) = db.execute(f'SELECT count(*) FROM "{dirt.table}" WHERE {dirt.detect_sql}').fetchone()
    assert n >= 1


def test_known_applicant_is_present(demo_source: Path) -> None:
    with sqlite3.connect(demo_source) as db:
        rows = db.execute(
            "SELECT count(*) FROM Antrag WHERE an_Vorname = ? AND an_Nachname = ?", KNOWN_APPLICANT
        ).fetchone()
    assert rows == (1,)


def test_cli_prints_counts_only(tmp_path: Path) -> None:
    out = tmp_path / "demo.sqlite"
    result = CliRunner().invoke(main, ["demo-data", "--scale", "0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Antrag" in result.output and "400" in result.output
    assert KNOWN_APPLICANT[1] not in result.output
    assert out.exists()
