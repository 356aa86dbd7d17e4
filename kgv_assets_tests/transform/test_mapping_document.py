"""The mapping document: generated from the table modules, committed, and complete.

``kgv_assets/transform/tables/MAPPING.md`` must equal what ``kgv mapping`` renders now (so the
document cannot drift from the code), and every legacy column of every mapped table must be
either mapped to a target column or listed as not stored, with its reason.
"""

from __future__ import annotations

from kgv_assets.legacy.catalogue import TABLES
from kgv_assets.transform.tables.document import DOCUMENT, render, unmapped_columns
from kgv_assets.transform.tables.registry import LOADERS


def test_committed_document_is_the_rendered_one() -> None:
    rendered = render(c.mapping for c in LOADERS)
    assert DOCUMENT.read_text(encoding="utf-8") == rendered, (
        "MAPPING.md is stale: run `docker/with-env.sh kgv mapping > "
        "kgv_assets/transform/tables/MAPPING.md`"
    )


def test_every_legacy_table_and_column_is_documented() -> None:
    mapped = {c.mapping.source for c in LOADERS}
    assert mapped == {t.name for t in TABLES}
    for loader in LOADERS:
        assert unmapped_columns(loader.mapping) == [], loader.mapping.source


def test_every_rule_says_what_it_does() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    for loader in LOADERS:
        assert f"## {loader.mapping.source} → kgv.{loader.mapping.target}" in text
        for rule in loader.mapping.rules:
            assert rule.description.strip(), (loader.mapping.target, rule.target)
