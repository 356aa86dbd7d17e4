"""The mapping document, generated from the table modules: legacy column → target column → rule.

``kgv mapping`` prints it; ``MAPPING.md`` beside this file is its committed output, kept in
step by a test (so the document cannot drift from the code).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from pathlib import Path

from kgv_assets.transform.tables.mapping import TableMapping

DOCUMENT = Path(__file__).with_name("MAPPING.md")


def _module_rules(mapping: TableMapping) -> list[str]:
    """The module docstrings of the conversion functions the mapping uses (their full rules)."""
    modules = {
        inspect.getmodule(r.convert)
        for r in mapping.rules
        if r.convert is not None and inspect.getmodule(r.convert) is not None
    }
    return sorted(m.__name__ for m in modules if m is not None)


def unmapped_columns(mapping: TableMapping) -> list[str]:
    """Legacy columns neither mapped by a rule nor documented as not stored."""
    covered = {r.source for r in mapping.rules} | {c for c, _ in mapping.not_stored}
    return [c for c in mapping.legacy.column_names if c not in covered]


def render(mappings: Iterable[TableMapping]) -> str:
    """The whole document as Markdown."""
    out = [
        "# Legacy → target mapping",
        "",
        "Generated from `kgv_assets/transform/tables/*.py` by `kgv mapping`; do not edit.",
        "Every legacy column appears here. A value that does not convert becomes NULL in its",
        "column and is kept raw in the row's `legacy` jsonb; a row that cannot be loaded at all",
        "is quarantined in `migration.rejected_rows` with its reasons.",
        "",
    ]
    modules: set[str] = set()
    for m in mappings:
        out += [f"## {m.source} → kgv.{m.target}", ""]
        out += [f"- {note}" for note in m.notes]
        out += ["", "| legacy column | target column | rule |", "|---|---|---|"]
        out += [f"| {r.source or '—'} | {r.target} | {r.description} |" for r in m.rules]
        out += [f"| {c} | — | {what} |" for c, what in m.not_stored]
        out.append("")
        modules.update(_module_rules(m))
    out += ["## Conversion rules", ""]
    for name in sorted(modules):
        module = importlib.import_module(name)
        out += [f"### `{name}`", "", (module.__doc__ or "").strip(), ""]
    return "\n".join(out).rstrip() + "\n"
