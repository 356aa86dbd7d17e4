"""Dagster metadata for people: the figures and tables a load or a check shows in the UI.

Both stages report a load the same way (``load_metadata``): rows read, loaded and quarantined,
partitions, seconds and rows/s, a table per partition and a table of the quarantine reasons;
target loads add what their merge did. Checks show their frames with ``table_value``. Keys,
counts and reasons only: never a legacy value.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd

from kgv_assets.load.accounting import LoadResult
from kgv_assets.transform.conversion import or_none


def _kind(dtype: Any) -> str:
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "string"


def table_value(frame: pd.DataFrame) -> dg.TableMetadataValue:
    """A frame as a Dagster table (NULLs as None, numbers as Python numbers)."""
    records = or_none(frame.astype(object), frame.notna()).to_dict("records")
    return dg.TableMetadataValue(
        records=[
            dg.TableRecord({str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()})
            for r in records
        ],
        schema=dg.TableSchema(
            columns=[dg.TableColumn(str(c), _kind(frame[c].dtype)) for c in frame.columns]
        ),
    )


def materialized(
    context: dg.AssetExecutionContext, result: LoadResult, columns: dg.TableSchema
) -> dg.MaterializeResult:
    """Log one load (counts only) and report it with the columns its table really has."""
    context.log.info(
        "%s: %d read, %d loaded, %d quarantined in %.1f s",
        result.table,
        result.source_rows,
        result.loaded_rows,
        result.quarantined_rows,
        result.seconds,
    )
    return dg.MaterializeResult(
        metadata={**load_metadata(result), "dagster/column_schema": columns}
    )


def load_metadata(result: LoadResult) -> dict[str, Any]:
    """The materialization metadata of one load (either stage)."""
    per_partition = pd.DataFrame(
        [
            (c.partition, c.source_rows, c.loaded_rows, c.quarantined_rows)
            for c in result.counts.values()
        ],
        columns=["partition", "source", "loaded", "quarantined"],
    ).astype({"source": "int64", "loaded": "int64", "quarantined": "int64"})
    reasons = result.reasons.rename_axis("reason").rename("rows").reset_index()
    metadata: dict[str, Any] = {
        "dagster/row_count": result.loaded_rows,
        "rows_source": result.source_rows,
        "rows_loaded": result.loaded_rows,
        "rows_quarantined": result.quarantined_rows,
        "partitions": len(result.counts),
        "seconds": round(result.seconds, 3),
        "rows_per_second": result.rows_per_second,
        "per_partition": table_value(per_partition),
        "quarantine_reasons": table_value(reasons.astype({"reason": object, "rows": "int64"})),
    }
    metadata.update({f"seconds_{part}": round(s, 3) for part, s in sorted(result.parts.items())})
    if result.merged is not None:
        metadata.update(
            rows_inserted=result.merged.inserted,
            rows_updated=result.merged.updated,
            rows_deleted=result.merged.deleted,
        )
    return metadata
