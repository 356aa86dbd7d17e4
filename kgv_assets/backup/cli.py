"""``kgv backup ...`` and ``kgv migrate rollback``: the operator's recoverability commands.

Registered on the ``kgv`` command in ``kgv_assets/cli.py``. Every command reads KGV_PG_URL,
DAGSTER_HOME and the backup settings of ``kgv_assets.backup.locations`` from the environment,
prints names, times, sizes, counts and hashes — never a row, a passphrase or a key — and fails
with one line saying what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click
import dagster as dg

from kgv_assets.backup import dumps, encryption, pgbackrest, retention, snapshots
from kgv_assets.backup.housekeeping import copies, prune_dumps, verify_and_record
from kgv_assets.backup.locations import (
    DUMPS,
    BackupConfigError,
    backup_directory,
    pgbackrest_home,
    pgbackrest_repo,
)

T = TypeVar("T")
FAILURES = (
    BackupConfigError,
    dumps.DumpError,
    encryption.DecryptError,
    pgbackrest.PgBackRestError,
    snapshots.RollbackRefusedError,
)


def _url() -> str:
    value = os.environ.get("KGV_PG_URL")
    if not value:
        raise click.ClickException("KGV_PG_URL is not set (make targets set it; see the README)")
    return value


def backup_root() -> Path:
    """The backup folder of this environment (KGV_BACKUP_DIR, else $DAGSTER_HOME/backups)."""
    return backup_directory(os.environ.get("DAGSTER_HOME"))


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except FAILURES as err:
        raise click.ClickException(str(err)) from err


def _run(action: Callable[[], T]) -> T:
    with _one_line_errors():
        return action()


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _pgbackrest() -> pgbackrest.PgBackRest:
    root = backup_root()
    return pgbackrest.PgBackRest(pgbackrest_home(root), pgbackrest_repo(root))


@click.group("backup")
def backup() -> None:
    """Backups of the target: pgBackRest (physical, PITR) and verified logical dumps."""


@backup.command("dump")
@click.option(
    "--kind",
    type=click.Choice(dumps.KINDS),
    default="full",
    show_default=True,
    help="full: schema and data; schema: schema only.",
)
@click.option("--archive", is_flag=True, help="Tag it 'archive': retention keeps it forever.")
def dump_command(kind: str, archive: bool) -> None:
    """Dump the schemas kgv, migration and audit with a manifest and the roles beside it.

    Encrypted with age when KGV_BACKUP_AGE_RECIPIENT is set.
    """
    with _one_line_errors():
        stored = dumps.take_dump(
            _url(),
            backup_root() / DUMPS,
            kind,
            recipients=encryption.recipients_from_env(),
            tags=[retention.ARCHIVE_TAG] if archive else [],
        )
    m = stored.manifest
    rows = sum(t.rows or 0 for t in m.tables.values())
    click.echo(
        f"dump {stored.file}: {m.size} bytes, {len(m.tables)} tables, {rows} rows, "
        f"{m.seconds:.1f} s{', encrypted' if m.encrypted else ''}"
    )
    click.echo(f"sha256 {m.sha256}; roles: {stored.roles_file.name}")


def _find(reference: str | None) -> dumps.StoredDump:
    root = backup_root()
    folders = [root / DUMPS, snapshots.snapshots_folder(root)]
    if reference:
        return dumps.resolve(reference, folders)
    found = dumps.catalogue(root / DUMPS)
    if not found:
        raise dumps.DumpError(f"no dumps in {root / DUMPS} (kgv backup dump makes one)")
    return found[0]


@backup.command("verify")
@click.argument("dump", required=False)
@click.option(
    "--without-roles",
    is_flag=True,
    help="Do not replay the saved roles first (shows which roles a bare cluster lacks).",
)
def verify_command(dump: str | None, without_roles: bool) -> None:
    """Restore-test a dump (default: the newest) in a fresh private cluster.

    Checks the SHA-256 first, then restores into a newly initialised cluster on its own port,
    replays the roles and compares every table's row count and content hash with the manifest.
    """
    with _one_line_errors():
        stored = _find(dump)
        result = verify_and_record(stored, with_roles=not without_roles)
    if not result.ok:
        for problem in result.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException(
            f"verify {stored.name}: {len(result.problems)} table(s) differ from the manifest"
        )
    click.echo(
        f"verify {stored.name}: restored into a fresh cluster, {result.tables} tables, "
        f"{result.rows} rows, counts and content hashes equal ({result.seconds:.1f} s)"
    )


@backup.command("decrypt")
@click.argument("dump")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def decrypt_command(dump: str, out: Path) -> None:
    """Write the plaintext pg_dump archive of an encrypted dump to OUT (mode 0600)."""
    with _one_line_errors():
        stored = _find(dump)
        dumps.decrypt_to(stored, out)
    click.echo(f"decrypted {stored.file.name} → {out}")


def _verified_text(d: dumps.StoredDump) -> str:
    if d.verification is None:
        return "never"
    state = "ok" if d.verification.ok else "FAILED"
    return f"{state} {d.verification.verified_at}"


@backup.command("list")
def list_command() -> None:
    """The dumps and pre-migration snapshots, newest first, with what retention decides."""
    root = backup_root()
    with _one_line_errors():
        found = dumps.catalogue(root / DUMPS)
        taken = dumps.catalogue(snapshots.snapshots_folder(root))
    decisions = {d.copy.name: d for d in retention.decide(copies(found), datetime.now(UTC))}
    click.echo(f"dumps in {root / DUMPS}")
    for d in found:
        decision = decisions[d.name]
        click.echo(
            f"  {d.name:<34} {d.manifest.kind:<7} {_size(d.manifest.size):>10}  "
            f"{'age' if d.manifest.encrypted else '   '}  verified: {_verified_text(d):<32} "
            f"{'keep (' + decision.rule + ')' if decision.keep else 'prune (expired)'}"
            f"{'  [archive]' if retention.ARCHIVE_TAG in d.manifest.tags else ''}"
        )
    if not found:
        click.echo("  none")
    click.echo(f"pre-migration snapshots in {snapshots.snapshots_folder(root)}")
    for d in taken:
        click.echo(
            f"  {d.name:<34} run {str(d.manifest.run_id)[:8]:<9} {_size(d.manifest.size):>10}"
            f"{'  restore point ' + d.manifest.restore_point if d.manifest.restore_point else ''}"
        )
    if not taken:
        click.echo("  none")


@backup.command("prune")
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
def prune_command(dry_run: bool) -> None:
    """Delete the dumps the retention policy no longer keeps.

    Daily for 30 days, weekly for 12 weeks, monthly for 12 months, archive-tagged forever;
    never the newest dump or the newest verified one.
    """
    with _one_line_errors():
        decisions = prune_dumps(backup_root() / DUMPS, datetime.now(UTC), dry_run)
    gone = [d for d in decisions if not d.keep]
    verb = "would delete" if dry_run else "deleted"
    for d in gone:
        click.echo(f"{verb} {d.copy.name}")
    click.echo(f"{len(decisions) - len(gone)} kept, {len(gone)} {verb.split()[-1]}")


@backup.command("tag")
@click.argument("dump")
@click.option("--archive/--no-archive", default=True, help="Keep it forever (or no longer).")
def tag_command(dump: str, archive: bool) -> None:
    """Mark a dump 'archive' (kept forever by prune), or remove the mark."""
    with _one_line_errors():
        stored = _find(dump)
        tags = set(stored.manifest.tags) - {retention.ARCHIVE_TAG}
        stored = dumps.set_tags(
            stored, sorted(tags | ({retention.ARCHIVE_TAG} if archive else set()))
        )
    click.echo(f"{stored.name}: tags {', '.join(stored.manifest.tags) or 'none'}")


@backup.group("physical")
def physical() -> None:
    """pgBackRest: WAL archiving and physical backups of the whole cluster (stanza kgv)."""


@physical.command("setup")
def physical_setup_command() -> None:
    """Write pgBackRest's configuration, switch WAL archiving on, create the stanza, check.

    Needs a superuser login (KGV_PG_URL) on the database server's machine and
    KGV_BACKUP_CIPHER_PASS (the repository is encrypted with aes-256-cbc).
    """
    root = backup_root()
    with _one_line_errors():
        done = pgbackrest.setup(_url(), pgbackrest_home(root), pgbackrest_repo(root))
    click.echo(f"configuration: {done.config}")
    for change in done.changed:
        click.echo(f"set (ALTER SYSTEM): {change.split(' = ')[0]}")
    if done.restart_needed:
        raise click.ClickException(
            f"restart PostgreSQL so that {', '.join(done.restart_needed)} take effect, then run "
            "`kgv backup physical setup` again"
        )
    click.echo("stanza kgv created and checked: WAL archiving reaches the repository")


def _physical_backup(kind: str) -> None:
    with _one_line_errors():
        taken = _pgbackrest().backup(kind)
    seconds = (taken.stopped - taken.started).total_seconds()
    click.echo(
        f"{kind} backup {taken.label}: database {_size(taken.size)}, "
        f"{_size(taken.repo_size)} added to the repository, {seconds:.0f} s"
    )


@physical.command("full")
def physical_full_command() -> None:
    """A full backup (the base every restore starts from)."""
    _physical_backup("full")


@physical.command("diff")
def physical_diff_command() -> None:
    """A differential backup: what changed since the last full backup."""
    _physical_backup("diff")


@physical.command("incr")
def physical_incr_command() -> None:
    """An incremental backup: what changed since the last backup of any type."""
    _physical_backup("incr")


@physical.command("verify")
def physical_verify_command() -> None:
    """``pgbackrest verify``: every file and WAL segment of the repository against its checksum."""
    with _one_line_errors():
        result = _pgbackrest().verify()
    click.echo(result.output)
    if not result.ok:
        named = f": {', '.join(result.bad_files)}" if result.bad_files else ""
        raise click.ClickException(f"the repository has invalid files{named}")


@backup.command("info")
def info_command() -> None:
    """The pgBackRest backups and WAL archive, and a summary of the logical dumps."""
    root = backup_root()
    pb = _pgbackrest()
    if pb.configured():
        with _one_line_errors():
            info = pb.info()
            taken = pb.backups()
        status = info.get("status", {}).get("message", "unknown")
        click.echo(f"pgBackRest stanza kgv ({pb.config}): {status}")
        for archive in info.get("archive", []):
            click.echo(f"  WAL archive {archive.get('min')} … {archive.get('max')}")
        for b in taken:
            click.echo(
                f"  {b.type:<4} {b.label:<36} {b.started:%Y-%m-%d %H:%M:%S}Z … "
                f"{b.stopped:%H:%M:%S}Z  database {_size(b.size)}, repository +{_size(b.repo_size)}"
            )
    else:
        click.echo("pgBackRest: not set up (kgv backup physical setup)")
    with _one_line_errors():
        found = dumps.catalogue(root / DUMPS)
    verified = [d for d in found if d.verified_ok]
    click.echo(
        f"logical dumps: {len(found)} in {root / DUMPS}; newest "
        f"{found[0].name if found else '-'}; newest verified "
        f"{verified[0].name if verified else '-'}"
    )


def parse_target_time(value: str) -> datetime:
    """An ISO 8601 time with its offset ('2026-11-24 14:03:05+01', '…Z').

    Raises:
        click.BadParameter: not a time, or no timezone (ambiguous for a recovery target).
    """
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as err:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from err
    if moment.tzinfo is None:
        raise click.BadParameter(f"give the time zone, e.g. '{value}+00' or '{value}+01'")
    return moment


@backup.command("restore")
@click.option("--to", "to", help="Recover to this moment (ISO 8601 with its offset).")
@click.option(
    "--restore-point", help="Recover to this named restore point (e.g. kgv_pre_migration_<run>)."
)
@click.option("--set", "backup_set", help="Start from this backup (label from kgv backup info).")
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="A NEW, empty folder for the restored cluster.",
)
@click.option("--port", type=int, required=True, help="The port the restored cluster listens on.")
def restore_command(
    to: str | None, restore_point: str | None, backup_set: str | None, into: Path, port: int
) -> None:
    """Restore the cluster into a NEW folder and start it on another port (point in time).

    Never over the running cluster. With --to: WAL is replayed up to that moment; with
    --restore-point: up to that named point. With only --set: exactly that backup's state.
    With none of them: the latest state in the archive.
    """
    target = parse_target_time(to) if to else None
    with _one_line_errors():
        cluster = _pgbackrest().restore(
            into, port, target_time=target, restore_point=restore_point, backup_set=backup_set
        )
    if target:
        point = f"recovered to {target.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}Z"
    elif restore_point:
        point = f"recovered to the restore point {restore_point}"
    else:
        point = f"backup {backup_set}" if backup_set else "the end of the archive"
    click.echo(f"restored into {cluster.data} ({point}); running on 127.0.0.1:{cluster.port}")
    click.echo(
        f"connect: psql -h 127.0.0.1 -p {cluster.port} -U postgres; "
        f"stop: pg_ctl -D {cluster.data} stop"
    )


@click.command("rollback")
@click.option("--to", "to", help="The snapshot (name from kgv backup list); default: the newest.")
@click.option("--reason", help="Why (kept in migration.rollbacks).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rollback_command(to: str | None, reason: str | None, yes: bool) -> None:
    """Undo migrations: restore the target to a pre-migration snapshot.

    Refused while a run is in progress. Replaces the schemas staging, kgv, migration and
    audit in one transaction; the rollback is recorded in migration.rollbacks and audit.log.
    """
    url = _url()
    instance = dg.DagsterInstance.get()
    root = backup_root()
    with _one_line_errors():
        chosen = snapshots.choose_snapshot(root, to)
        if not yes:
            click.confirm(
                f"Replace staging, kgv, migration and audit with snapshot {chosen.name} "
                f"(taken {chosen.manifest.created_at})?",
                abort=True,
            )
        done = snapshots.rollback(url, instance, root, to=chosen.name, reason=reason)
    if done.problems:
        for problem in done.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException("the restored tables differ from the snapshot's manifest")
    undone = ", ".join(r[:8] for r in done.runs_undone) or "none"
    click.echo(
        f"rolled back to {done.snapshot.name} (taken {done.snapshot.manifest.created_at}): "
        f"{done.tables} tables, {done.rows} rows, every content hash equal; "
        f"runs undone: {undone} ({done.seconds:.1f} s)"
    )
