#!/usr/bin/env bash
# Runs a command with the kgv_assets environment: KGV_PG_URL (see local-postgres.sh),
# KGV_SOURCE_URL (the embedded demo source unless set), KGV_SOURCE_SCHEMA, DAGSTER_HOME.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
KGV_PG_URL=$("$root/docker/local-postgres.sh")
export KGV_PG_URL
# Dagster's storage (dagster.yaml): its own login where set, else the same server and login
export KGV_DAGSTER_PG_URL="${KGV_DAGSTER_PG_URL:-$KGV_PG_URL}"
# the CA of sslmode=verify-full for every libpq client (psycopg, Dagster's storage, pg_dump)
if [ -n "${KGV_PG_SSLROOTCERT:-}" ]; then export PGSSLROOTCERT="$KGV_PG_SSLROOTCERT"; fi
export KGV_SOURCE_URL="${KGV_SOURCE_URL:-sqlite:///$root/.demo/kgv_demo.sqlite}"
export KGV_SOURCE_SCHEMA="${KGV_SOURCE_SCHEMA:-}"
export DAGSTER_HOME="${DAGSTER_HOME:-$root/.dagster_home}"
# Dagster stores a step's asset events (a materialization per partition, the planned events of a
# run) in one INSERT per batch instead of one each: a tenth of a full migration's wall clock at
# demo scale (README, Benchmark). Dagster's own opt-in switch; 0 turns it off.
export DAGSTER_EVENT_BATCH_SIZE="${DAGSTER_EVENT_BATCH_SIZE:-100}"
# glibc gives every thread that allocates an arena of its own (up to 8 per core) and keeps what
# is freed there: with polars' and the check steps' threads that held ~120 MB more at the peak
# of a full migration at 1M rows. Two arenas (glibc's documented tunable) keep the process
# under 1 GiB (README, Benchmark).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
mkdir -p "$DAGSTER_HOME"
[ -e "$DAGSTER_HOME/dagster.yaml" ] || ln -s "$root/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
export PATH="$root/.venv/bin:$PATH"
export VIRTUAL_ENV="$root/.venv"   # the project's venv is the active one (dg checks this)
exec "$@"
