"""The pre-migration snapshot every full migration takes, and ``kgv migrate rollback``.

Before ``full_migration`` changes anything (its asset ``backups/pre_migration_snapshot`` runs
upstream of ``migration/schema_migrations``), the target is dumped like a full logical dump,
``staging`` included — the staging tables and their accounting in ``migration.reconciliation``
must come back together, or the report's identities would break after a rollback — into
``<backup folder>/snapshots``. When WAL archiving is on, a named restore point
``kgv_pre_migration_<run id>`` is created too, so pgBackRest can return to exactly that
moment (``kgv backup restore --to`` a time just before it). An empty target (no schema applied
yet) has nothing to undo: the snapshot is skipped.

The rollback refuses while a run is in progress on the Dagster instance (queued, starting,
started or cancelling), checks the snapshot's SHA-256, then — in ONE transaction — drops the
schemas, restores the snapshot, re-creates ``migration.rollbacks`` if the snapshot predates it
(``sql/target/110_rollbacks.sql``), puts back the earlier rollbacks and records this one (the
audit trigger writes it to ``audit.log``). Afterwards every table's count and content hash are
compared with the snapshot's manifest.
"""

from __future__ import annotations

import getpass
import json
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
from psycopg import sql

from kgv_assets.backup import dumps
from kgv_assets.backup.locations import SNAPSHOTS
from kgv_assets.schema_migrations import SQL_DIR

SNAPSHOT_SCHEMAS = ("staging", "kgv", "migration", "audit")
KEEP_SNAPSHOTS = 5
ROLLBACKS_SQL = SQL_DIR / "110_rollbacks.sql"
IN_PROGRESS = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


class RollbackRefusedError(RuntimeError):
    """The rollback was not started; the message says why in one line."""


def snapshots_folder(root: Path) -> Path:
    """Where pre-migration snapshots are kept."""
    return root / SNAPSHOTS


@dataclass(frozen=True)
class SnapshotResult:
    """What the pre-migration snapshot did."""

    stored: dumps.StoredDump | None
    """The snapshot (None: skipped)."""
    reason: str
    restore_point: str | None
    pruned: list[str]
    warning: str | None = None
    """Why no restore point was created although archiving is on."""


def target_is_empty(conn: psycopg.Connection) -> bool:
    """True when no migration has applied the target schema yet."""
    row = conn.execute("SELECT to_regclass('migration.schema_migrations') IS NULL").fetchone()
    return bool(row and row[0])


def _archiving(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT current_setting('archive_mode') <> 'off'"
        " AND current_setting('wal_level') <> 'minimal'"
    ).fetchone()
    return bool(row and row[0])


def create_restore_point(url: str, run_id: str) -> str | None:
    """``pg_create_restore_point('kgv_pre_migration_<run>')`` when archiving is on, else None.

    Raises:
        psycopg.Error: the server refused (e.g. the login may not create restore points).
    """
    with psycopg.connect(url, autocommit=True) as conn:
        if not _archiving(conn):
            return None
        name = f"kgv_pre_migration_{run_id}"
        conn.execute("SELECT pg_create_restore_point(%s)", (name,))
        return name


def take_snapshot(
    url: str,
    root: Path,
    run_id: str,
    *,
    recipients: list[str] | tuple[str, ...] = (),
    keep: int = KEEP_SNAPSHOTS,
) -> SnapshotResult:
    """The pre-migration snapshot of the target at ``url`` (skipped on an empty target).

    The newest ``keep`` snapshots are kept, older ones deleted.
    """
    with psycopg.connect(url) as conn:
        if target_is_empty(conn):
            return SnapshotResult(None, "empty target: nothing to undo", None, [])
    warning = None
    try:
        restore_point = create_restore_point(url, run_id)
    except psycopg.errors.InsufficientPrivilege:
        # The logical snapshot is what a rollback needs; the restore point is a convenience.
        restore_point = None
        warning = (
            "no restore point: the login may not run pg_create_restore_point (grant EXECUTE "
            "on it, or use a superuser); the snapshot itself was taken"
        )
    stored = dumps.take_dump(
        url,
        snapshots_folder(root),
        "snapshot",
        schemas=SNAPSHOT_SCHEMAS,
        recipients=recipients,
        run_id=run_id,
        restore_point=restore_point,
    )
    pruned = []
    for old in dumps.catalogue(snapshots_folder(root))[keep:]:
        dumps.remove(old)
        pruned.append(old.name)
    return SnapshotResult(stored, "taken", restore_point, pruned, warning)


@dataclass(frozen=True)
class RollbackResult:
    """A finished rollback."""

    snapshot: dumps.StoredDump
    runs_undone: list[str]
    seconds: float
    tables: int
    rows: int
    problems: list[str]
    """Differences between the restored tables and the snapshot's manifest (empty: equal)."""


def runs_in_progress(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Runs on the instance that are queued, starting, running or being cancelled."""
    return list(instance.get_runs(filters=dg.RunsFilter(statuses=list(IN_PROGRESS))))


def choose_snapshot(root: Path, reference: str | None) -> dumps.StoredDump:
    """The snapshot named by ``reference`` (a name or file), else the newest.

    Raises:
        RollbackRefusedError: there is none.
    """
    folder = snapshots_folder(root)
    if reference:
        try:
            return dumps.resolve(reference, [folder])
        except dumps.DumpError as err:
            raise RollbackRefusedError(f"refusing to roll back: {err}") from err
    found = dumps.catalogue(folder)
    if not found:
        raise RollbackRefusedError(
            f"refusing to roll back: no pre-migration snapshot in {folder} (full_migration "
            "takes one before it changes a target that already holds a migration)"
        )
    return found[0]


def _runs_since(instance: dg.DagsterInstance, stored: dumps.StoredDump) -> list[str]:
    """The run that took the snapshot, then every run created after it (oldest first)."""
    own = stored.manifest.run_id
    later = instance.get_runs(filters=dg.RunsFilter(created_after=stored.manifest.created))
    return ([own] if own else []) + [r.run_id for r in reversed(later) if r.run_id != own]


def _existing_rollbacks(conn: psycopg.Connection) -> list[dict]:
    row = conn.execute("SELECT to_regclass('migration.rollbacks') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return []
    cur = conn.execute("SELECT to_jsonb(r) FROM migration.rollbacks AS r ORDER BY id")
    return [r[0] for r in cur.fetchall()]


def _audit_rows_since(conn: psycopg.Connection, stored: dumps.StoredDump) -> int:
    row = conn.execute("SELECT to_regclass('audit.log') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    counted = conn.execute(
        "SELECT count(*) FROM audit.log WHERE changed_at >= %s", (stored.manifest.created,)
    ).fetchone()
    return int(counted[0]) if counted else 0


def _record_sql(
    conn: psycopg.Connection,
    stored: dumps.StoredDump,
    earlier: list[dict],
    runs: list[str],
    audit_rows: int,
    reason: str | None,
) -> str:
    """The SQL that, after the restore and in its transaction, records the rollback."""
    m = stored.manifest
    statements = [
        sql.SQL("SELECT set_config('kgv.audit', 'off', true)"),
        sql.SQL(
            "INSERT INTO migration.rollbacks SELECT * FROM"
            " jsonb_populate_recordset(NULL::migration.rollbacks, {}::jsonb)"
            " ON CONFLICT (id) DO NOTHING"
        ).format(sql.Literal(json.dumps(earlier))),
        sql.SQL(
            "SELECT setval(pg_get_serial_sequence('migration.rollbacks', 'id'),"
            " coalesce((SELECT max(id) FROM migration.rollbacks), 0) + 1, false)"
        ),
        sql.SQL("SELECT set_config('kgv.audit', 'on', true)"),
        sql.SQL(
            "INSERT INTO migration.rollbacks (snapshot, snapshot_taken_at, snapshot_run_id,"
            " restore_point, runs_undone, tables_restored, rows_restored, audit_rows_discarded,"
            " os_user, reason) VALUES ({})"
        ).format(
            sql.SQL(", ").join(
                map(
                    sql.Literal,
                    (
                        m.name,
                        m.created,
                        m.run_id,
                        m.restore_point,
                        runs,
                        len(m.tables),
                        sum(f.rows or 0 for f in m.tables.values()),
                        audit_rows,
                        getpass.getuser(),
                        reason,
                    ),
                )
            )
        ),
    ]
    recorded = ";\n".join(s.as_string(conn) for s in statements)
    return (
        "SET search_path = pg_catalog, public;\n"
        + ROLLBACKS_SQL.read_text(encoding="utf-8")
        + f"\n{recorded};\n"
    )


def rollback(
    url: str,
    instance: dg.DagsterInstance,
    root: Path,
    *,
    to: str | None = None,
    identity: Path | None = None,
    reason: str | None = None,
) -> RollbackResult:
    """Restore the target at ``url`` to a pre-migration snapshot and record it.

    Raises:
        RollbackRefusedError: a run is in progress, or there is no such snapshot.
        dumps.ChecksumMismatchError: the snapshot's files are damaged (nothing was changed).
        dumps.DumpError: the restore failed (its transaction rolled back: nothing changed).
    """
    busy = runs_in_progress(instance)
    if busy:
        listed = ", ".join(f"{r.job_name} {r.run_id[:8]} {r.status.value}" for r in busy[:5])
        raise RollbackRefusedError(
            f"refusing to roll back: {len(busy)} run(s) in progress on the Dagster instance "
            f"({listed}); wait for them to finish or cancel them first"
        )
    stored = choose_snapshot(root, to)
    dumps.check_files(stored)
    started = time.perf_counter()
    runs = _runs_since(instance, stored)
    with psycopg.connect(url) as conn:
        earlier = _existing_rollbacks(conn)
        audit_rows = _audit_rows_since(conn, stored)
        drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE;").format(
            sql.SQL(", ").join(map(sql.Identifier, SNAPSHOT_SCHEMAS))
        )
        before = drop.as_string(conn)
        after = _record_sql(conn, stored, earlier, runs, audit_rows, reason)
    dumps.load_dump(url, stored, identity, before=before, after=after)
    found = dumps.figures_at(url, stored.manifest.schemas)
    expected = {k: v for k, v in stored.manifest.tables.items() if k != "migration.rollbacks"}
    found.pop("migration.rollbacks", None)
    # audit.log gains the rollback's own entry: compare it without that row.
    problems = [
        p for p in dumps.compare(expected, found) if not p.startswith("audit.log:")
    ] + _audit_problems(url, stored)
    return RollbackResult(
        stored,
        runs,
        round(time.perf_counter() - started, 3),
        len(found),
        sum(f.rows or 0 for f in found.values()),
        problems,
    )


def _audit_problems(url: str, stored: dumps.StoredDump) -> list[str]:
    """audit.log must be the snapshot's plus exactly this rollback's entry."""
    expected = stored.manifest.tables.get("audit.log")
    if expected is None:
        return []
    own_entry = sql.SQL(
        "NOT (t.table_name = 'migration.rollbacks' AND t.row_key = "
        "jsonb_build_object('id', (SELECT max(id) FROM migration.rollbacks)))"
    )
    with psycopg.connect(url) as conn:
        dumps.set_text_settings(conn)
        rows, content = dumps.content_figure(conn, sql.Identifier("audit", "log"), own_entry)
    if rows != expected.rows:
        return [
            f"audit.log: {rows} rows besides the rollback's entry, snapshot had {expected.rows}"
        ]
    if content != expected.content_hash:
        return ["audit.log: same row count, different content"]
    return []
