"""The reasons engine: which rules each failing row of a frame breaks, from a pandera schema.

Loads and checks share it: the staging load validates each chunk against the legacy schema of
its table (``kgv_assets.legacy.schemas``), the target load against the target table's schema
(``kgv_assets/transform/tables``), and the format checks against the schema derived from the
mapping's converters (``kgv_assets.validation.rules``). A failing row gets the sorted list of
``column: rule`` it breaks — rules, never values (legacy data is personal data) — and is
quarantined with them, or counted by the check.

The schemas are run lazily, with every reason per row. Pandera's own lazy validation is the
reference (``pandera_reasons``); where a schema is plain columns with vectorised checks, their
check functions run directly on the columns (``screened_reasons``), which gives the same
reasons without pandera's bookkeeping per check, most of the validation time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

NOT_NULL = "NULL in a NOT NULL column"


def _screenable(schema: pa.DataFrameSchema) -> bool:
    """Whether row failures come only from NULLs and plain column checks (see screened_reasons)."""
    if schema.checks or schema.unique or schema.coerce or schema.index is not None:
        return False
    return all(
        not (c.coerce or c.unique or c.regex)
        and all(k.groupby is None and not k.element_wise and k.ignore_na for k in c.checks)
        for c in schema.columns.values()
    )


def _run(check: pa.Check, values: pd.Series) -> object:
    """A check's own function on non-NULL values, as pandera's backend calls it.

    Calling the Check object would repeat pandera's per-call bookkeeping (dropping NULLs,
    collecting failure cases) for every check of every column: most of the validation time.
    """
    function = getattr(check, "_check_fn", None)
    if function is None:  # another pandera: go through its public call
        return check(values).check_output
    return function(values, **getattr(check, "_check_kwargs", {}))


def _identifier(check: pa.Check) -> str:
    """The check as pandera names it in its failure cases (error, else name)."""
    if check.error is not None:
        return str(check.error)
    return str(check.name if check.name is not None else check)


def screened_reasons(df: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.Series | None:
    """``failure_reasons`` computed by running the schema's checks directly, vectorised.

    What pandera's lazy validation does per column, without its per-check bookkeeping (most
    of the validation time): NULLs fail a NOT NULL column; each check gets the column's
    non-NULL values and fails where its result is false; the reason is ``column: check``.
    None when the schema or a check does anything else (coercion, groupby, element-wise or
    dataframe checks, a check that raises or returns no Series): then pandera decides.
    """
    if not _screenable(schema):
        return None
    positions: list[np.ndarray] = []
    texts: list[str] = []
    for name, column in schema.columns.items():
        if name not in df.columns:
            return None
        s = df[name]
        null = s.isna().to_numpy()
        if not column.nullable and null.any():
            positions.append(np.flatnonzero(null))
            texts.append(f"{name}: {NOT_NULL}")
        present = np.flatnonzero(~null)
        values = s.iloc[present] if len(present) < len(s) else s  # as pandera: no NULLs
        for check in column.checks:
            try:
                out = _run(check, values)
                if not isinstance(out, pd.Series) or not out.index.equals(values.index):
                    return None
                passed = out.to_numpy(dtype=bool)
            except Exception:  # pandera reports a failing check as its own error
                return None
            if not passed.all():
                positions.append(present[~passed])
                texts.append(f"{name}: {_identifier(check)}")
    return reasons_at(positions, texts, df.index)


def reasons_at(
    positions: list[np.ndarray], texts: list[str], labels: pd.Index | None = None
) -> pd.Series:
    """Per failing row, the sorted reasons: ``texts[i]`` fails the rows at ``positions[i]``.

    Indexed by the rows' ``labels`` (default: their positions), failing rows only.
    """
    if not positions:
        return pd.Series([], dtype=object)
    rows = np.concatenate(positions)
    text = pd.Series(np.repeat(np.array(texts, dtype=object), [len(p) for p in positions]))
    keys = rows if labels is None else labels[rows].to_numpy()
    return text.groupby(keys).agg(lambda x: sorted(set(x)))


def failure_reasons(df: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.Series:
    """The rules each failing row of ``df`` breaks: a sorted list per row label, failing rows only.

    Reasons name the column and the rule, never the value (legacy data is personal data).
    Computed by ``screened_reasons`` where the schema allows, else by pandera's validation.
    """
    reasons = screened_reasons(df, schema)
    return pandera_reasons(df, schema) if reasons is None else reasons


def pandera_reasons(df: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.Series:
    """``failure_reasons`` by pandera's lazy validation of every row (the reference)."""
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        cases = cases[cases["index"].notna()]
        check = cases["check"].astype(str).replace({"not_nullable": NOT_NULL})
        text = cases["column"].astype(str) + ": " + check
        return text.groupby(cases["index"].to_numpy()).agg(lambda x: sorted(set(x)))
    return pd.Series([], dtype=object)
