#!/usr/bin/env bash
# Backups of the migrated KGV data: the schemas kgv, migration and audit of KGV_PG_URL.
#
#   monitoring/backup.sh dump DIR [--keep N]   pg_dump -Fc to DIR/kgv_<UTC time>.dump, plus
#                                              DIR/kgv_<UTC time>.manifest (extensions and the
#                                              row count of every table, counted in the dump's
#                                              own snapshot); keeps the newest N dumps (14)
#   monitoring/backup.sh verify FILE.dump      restores FILE into a scratch database on the same
#                                              server, compares every table's row count with the
#                                              manifest, drops the scratch database; exit 1 on
#                                              any difference
#
# Connection: KGV_PG_URL (a libpq URL or key=value string); the login needs CREATEDB for
# verify. The dumps hold personal data (applicants, the raw rows in the quarantine): they are
# written with mode 0600 and belong on encrypted, access-controlled storage.
set -euo pipefail

SCHEMAS=(kgv migration audit)
PREFIX=kgv_

die() { echo "backup.sh: $*" >&2; exit 1; }
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ -n "${KGV_PG_URL:-}" ] || die "KGV_PG_URL is not set"
command -v pg_dump >/dev/null && command -v pg_restore >/dev/null || die "pg_dump/pg_restore not found"

# psql SQL printing "rows<TAB>schema.table<TAB>count" for every table of the schemas, in order.
count_rows_sql() {
  local list
  list=$(printf "'%s'," "${SCHEMAS[@]}")
  cat <<SQL
SELECT format('SELECT %L, %L, count(*) FROM %I.%I', 'rows', n.nspname || '.' || c.relname,
              n.nspname, c.relname)
  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
 WHERE n.nspname IN (${list%,}) AND c.relkind = 'r'
 ORDER BY n.nspname, c.relname \gexec
SQL
}

# The URL of database $2 on the server of URL $1.
url_for_db() {
  case "$1" in
    postgres://* | postgresql://*)
      printf '%s\n' "$1" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\\1/$2#" ;;
    *) printf "%s dbname='%s'\n" "$1" "$2" ;;
  esac
}

dump() {
  local dir=$1 keep=$2 base started
  umask 077
  mkdir -p "$dir"
  base="$dir/$PREFIX$(date -u +%Y%m%dT%H%M%SZ)"
  [ ! -e "$base.dump" ] || die "$base.dump exists already (one dump per second)"
  export KGV_BACKUP_TMP="$base.dump.partial"
  PARTIAL_FILES=("$KGV_BACKUP_TMP" "$KGV_BACKUP_TMP.ok" "$base.manifest.partial")
  trap 'rm -f "${PARTIAL_FILES[@]}"' EXIT
  started=$EPOCHREALTIME
  # One transaction exports its snapshot; the row counts and pg_dump both read that snapshot,
  # so the manifest describes exactly the data in the dump while the sync keeps writing.
  local schema_args=()
  for s in "${SCHEMAS[@]}"; do schema_args+=(-n "$s"); done
  export KGV_BACKUP_SCHEMAS="${schema_args[*]}"
  {
    echo "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;"
    echo "SELECT pg_export_snapshot() AS snapshot \\gset"
    echo "\\setenv KGV_BACKUP_SNAPSHOT :snapshot"
    echo "SELECT 'extension', extname, extnamespace::regnamespace FROM pg_extension"
    echo " WHERE extname <> 'plpgsql' ORDER BY extname;"
    count_rows_sql
    echo "\\! pg_dump --snapshot=\"\$KGV_BACKUP_SNAPSHOT\" -Fc \$KGV_BACKUP_SCHEMAS" \
      "-f \"\$KGV_BACKUP_TMP\" \"\$KGV_PG_URL\" && touch \"\$KGV_BACKUP_TMP.ok\""
    echo "COMMIT;"
  } | psql "$KGV_PG_URL" -X -q -At -F $'\t' -v ON_ERROR_STOP=1 >"$base.manifest.partial"
  [ -e "$KGV_BACKUP_TMP.ok" ] || die "pg_dump failed; no backup written"
  mv "$base.manifest.partial" "$base.manifest"
  mv "$KGV_BACKUP_TMP" "$base.dump"
  rm -f "$KGV_BACKUP_TMP.ok"
  trap - EXIT
  printf 'dump %s: %s bytes, %s tables, %s s\n' "$base.dump" "$(stat -c %s "$base.dump")" \
    "$(grep -c '^rows' "$base.manifest")" "$(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $started }")"

  # Retention: the newest $keep dumps (names sort by time) and their manifests stay.
  local old
  mapfile -t old < <(ls -1 "$dir"/"$PREFIX"*.dump 2>/dev/null | sort -r | tail -n +"$((keep + 1))")
  for f in "${old[@]}"; do
    rm -f "$f" "${f%.dump}.manifest"
    echo "removed old backup $f"
  done
}

drop_scratch() {
  psql "$KGV_PG_URL" -X -q -v db="$SCRATCH" <<<'DROP DATABASE IF EXISTS :"db" WITH (FORCE);'
}

verify() {
  local file=$1 manifest scratch_url
  manifest="${file%.dump}.manifest"
  [ -f "$file" ] || die "no such dump: $file"
  [ -f "$manifest" ] || die "no manifest beside the dump: $manifest"
  SCRATCH="kgv_restore_check_$(date -u +%Y%m%d%H%M%S)_$$"
  scratch_url=$(url_for_db "$KGV_PG_URL" "$SCRATCH")
  psql "$KGV_PG_URL" -X -q -v ON_ERROR_STOP=1 -v db="$SCRATCH" <<<'CREATE DATABASE :"db";'
  trap drop_scratch EXIT
  # The dump holds only the three schemas: create the extensions they use first.
  awk -F'\t' '$1 == "extension" { printf "CREATE EXTENSION IF NOT EXISTS \"%s\" SCHEMA \"%s\";\n", $2, $3 }' \
    "$manifest" | psql "$scratch_url" -X -q -v ON_ERROR_STOP=1
  pg_restore --exit-on-error --single-transaction -d "$scratch_url" "$file"
  local expected actual
  expected=$(grep '^rows' "$manifest")
  actual=$(count_rows_sql | psql "$scratch_url" -X -q -At -F $'\t' -v ON_ERROR_STOP=1)
  if [ "$expected" != "$actual" ]; then
    echo "verify $file: row counts differ (< manifest, > restored):" >&2
    diff <(echo "$expected") <(echo "$actual") >&2 || true
    exit 1
  fi
  echo "verify $file: restored into $SCRATCH, $(echo "$actual" | wc -l) tables," \
    "$(echo "$actual" | awk -F'\t' '{ s += $3 } END { print s }') rows, all counts equal"
}

case "${1:-}" in
  dump)
    [ $# -ge 2 ] || usage
    dir=$2; keep=14; shift 2
    while [ $# -gt 0 ]; do
      case "$1" in
        --keep) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
        *) usage ;;
      esac
    done
    [[ "$keep" =~ ^[1-9][0-9]*$ ]] || die "--keep needs a positive number"
    dump "$dir" "$keep" ;;
  verify)
    [ $# -eq 2 ] || usage
    verify "$2" ;;
  *) usage ;;
esac
