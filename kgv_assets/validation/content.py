"""Content: every source row is in the target or the quarantine with exactly its content.

The source partitions are re-read (``LegacySourceResource.read_chunks``) and each row is
hashed with the very code staging used (``kgv_assets.transform.hashing.row_hash``); the
target carries that hash in ``legacy_hash``, the quarantine in ``row_hash``. Both sides are
reduced to hash frames (partition, legacy key, row hash) — chunk by chunk on the source side,
through a server-side cursor on the PostgreSQL side — and compared as multisets with one
vectorised merge; no row is looked up alone.

- missing: a source row with no loaded or quarantined row of the same key and content;
- extra: a loaded or quarantined row the source does not have (any more);
- changed: a key on both lists (its content differs, or it moved to another partition).

Tables without a legacy key (Bezirke_Katasterbezirke) are compared by content alone: a
changed row counts as one missing and one extra, and examples are shown as row hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from kgv_assets.layout import LEGACY_HASH, PARTITION_COLUMN, TARGET, TARGET_PARTITION
from kgv_assets.legacy.catalogue import Table
from kgv_assets.partitions import sort_partition_keys
from kgv_assets.transform.hashing import row_hash
from kgv_assets.validation.outcome import Outcome, percent, sample

PARTITION = "partition"
KEY = "key"
HASH = "row_hash"
CHUNK_ROWS = 100_000
_FRAME = [PARTITION, KEY, HASH]


@dataclass(frozen=True)
class ContentSpec:
    """How the rows of one legacy table are found again in its target table.

    Attributes:
        source: The legacy table.
        target: The ``kgv`` table it loads into.
        target_key: The target column that holds the legacy key (``id``); None where the
            legacy table has no key, so rows are compared by content alone.
    """

    source: Table
    target: str
    target_key: str | None

    @property
    def lower_keys(self) -> bool:
        """Whether keys compare case-insensitively (uuids; the target stores them lower-case)."""
        key = self.source.key_column
        return key is not None and self.source.column(key).kind == "uid"


def source_hashes(spec: ContentSpec, chunks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The hash frame of the source rows: partition, normalised legacy key, row hash."""
    frames = []
    key = spec.source.key_column if spec.target_key else None
    for chunk in chunks:
        keys = chunk[key].astype(object) if key else pd.Series("", index=chunk.index)
        if spec.lower_keys and key:
            keys = keys.str.lower()
        frames.append(
            pd.DataFrame(
                {
                    PARTITION: chunk[PARTITION_COLUMN].astype(str),
                    KEY: keys.fillna(""),
                    HASH: row_hash(chunk, spec.source.column_names),
                }
            )
        )
    return _concat(frames)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == HASH else object) for c in _FRAME})
    return pd.concat(frames, ignore_index=True)


def loaded_hashes(
    conn: psycopg.Connection, spec: ContentSpec, partitions: Sequence[str] | None
) -> pd.DataFrame:
    """The hash frame of what the migration holds: target rows plus quarantined rows."""
    key_expr = (
        sql.SQL("t.{}::text").format(sql.Identifier(spec.target_key))
        if spec.target_key
        else sql.SQL("''")
    )
    quarantine_key = sql.SQL("coalesce(r.source_key, '')") if spec.target_key else sql.SQL("''")
    if spec.lower_keys:
        key_expr = sql.SQL("lower({})").format(key_expr)
        quarantine_key = sql.SQL("lower({})").format(quarantine_key)
    target_scope = quarantine_scope = sql.SQL("TRUE")
    if partitions is not None:
        target_scope = sql.SQL("t.{} = ANY(%(p)s)").format(sql.Identifier(TARGET_PARTITION))
        quarantine_scope = sql.SQL("r.partition = ANY(%(p)s)")
    query = sql.SQL(
        "SELECT t.{part}, {key}, t.{hash} FROM {target} t WHERE {target_scope}"
        " UNION ALL"
        " SELECT r.partition, {qkey}, r.row_hash FROM migration.rejected_rows r"
        " WHERE r.source_table = %(source)s AND {quarantine_scope}"
    ).format(
        part=sql.Identifier(TARGET_PARTITION),
        key=key_expr,
        hash=sql.Identifier(LEGACY_HASH),
        target=sql.Identifier(TARGET, spec.target),
        target_scope=target_scope,
        qkey=quarantine_key,
        quarantine_scope=quarantine_scope,
    )
    params = {"source": spec.source.name, "p": list(partitions or [])}
    return _concat(list(_read_frames(conn, query, params)))


def _read_frames(
    conn: psycopg.Connection, query: sql.Composed, params: dict[str, object]
) -> Iterator[pd.DataFrame]:
    with conn.transaction(), conn.cursor(name="content_hashes") as cur:
        cur.itersize = CHUNK_ROWS
        cur.execute(query, params)
        while rows := cur.fetchmany(CHUNK_ROWS):
            frame = pd.DataFrame.from_records(rows, columns=_FRAME, coerce_float=False)
            yield frame.astype({HASH: "int64"})


def compare_hashes(source: pd.DataFrame, loaded: pd.DataFrame, *, keyed: bool) -> Outcome:
    """Compare the two hash frames as multisets (see the module docstring).

    Args:
        source: ``source_hashes`` of the partitions checked.
        loaded: ``loaded_hashes`` of the same partitions.
        keyed: Whether rows carry a legacy key (else they are matched by content alone).
    """
    counts = pd.concat(
        {
            "source": source.groupby(_FRAME).size(),
            "loaded": loaded.groupby(_FRAME).size(),
        },
        axis=1,
    ).fillna(0)
    diff = (counts["source"] - counts["loaded"]).astype("int64")
    missing = diff[diff > 0].rename("rows").reset_index()
    extra = (-diff[diff < 0]).rename("rows").reset_index()
    changed_keys = set(missing[KEY]) & set(extra[KEY]) - {""} if keyed else set()
    changed = missing[missing[KEY].isin(changed_keys)]
    missing = missing[~missing[KEY].isin(changed_keys)]
    extra = extra[~extra[KEY].isin(changed_keys)]

    per_partition = pd.concat(
        {
            "source_rows": source.groupby(PARTITION).size(),
            "loaded_or_quarantined": loaded.groupby(PARTITION).size(),
            "missing": missing.groupby(PARTITION)["rows"].sum(),
            "changed": changed.groupby(PARTITION)["rows"].sum(),
            "extra": extra.groupby(PARTITION)["rows"].sum(),
        },
        axis=1,
    ).fillna(0)
    per_partition = per_partition.astype("int64")
    per_partition = per_partition.reindex(sort_partition_keys(list(per_partition.index)))
    per_partition = per_partition.rename_axis(PARTITION).reset_index()

    n_source, n_loaded = len(source), len(loaded)
    n_missing, n_changed, n_extra = (int(f["rows"].sum()) for f in (missing, changed, extra))
    matching = n_source - n_missing - n_changed
    passed = n_missing == n_changed == n_extra == 0
    figures: dict[str, int | float] = {
        "source_rows": n_source,
        "loaded_or_quarantined_rows": n_loaded,
        "rows_matching": matching,
        "rows_missing": n_missing,
        "rows_changed": n_changed,
        "rows_extra": n_extra,
        "matching_percent": percent(matching, n_source),
    }
    samples = {
        name: _examples(frame, keyed)
        for name, frame in (("missing", missing), ("changed", changed), ("extra", extra))
        if len(frame)
    }
    if passed:
        summary = (
            f"All {n_source} source rows are loaded or quarantined with the same content hash."
        )
    else:
        summary = (
            f"{n_missing} source rows missing, {n_changed} changed, {n_extra} extra"
            f" ({percent(matching, n_source)}% of {n_source} source rows match)."
        )
    return Outcome(passed, "ERROR", summary, figures, {"per_partition": per_partition}, samples)


def _examples(frame: pd.DataFrame, keyed: bool) -> list[str]:
    if keyed:
        return sample(frame[KEY])
    hashes = frame[HASH].to_numpy(dtype=np.int64).view(np.uint64)
    return sample(f"row hash {h:016x}" for h in hashes)
