#!/usr/bin/env bash
# Prints the libpq URL of a PostgreSQL for kgv_assets and makes sure it answers.
#   KGV_PG_URL set            -> that one (must answer)
#   127.0.0.1:5432 answers    -> that server, database $KGV_PG_DB (created if missing)
#   otherwise                 -> a private cluster in ./.pgdata on port 54329, started here
#                                (initdb runs as the postgres user when we are root)
set -euo pipefail
cd "$(dirname "$0")/.."
db=${KGV_PG_DB:-kgv}

answers() { pg_isready -q -d "$1" -t 3 >/dev/null 2>&1; }

if [ -n "${KGV_PG_URL:-}" ]; then
  answers "$KGV_PG_URL" || { echo "KGV_PG_URL is set but does not answer" >&2; exit 1; }
  echo "$KGV_PG_URL"; exit 0
fi

if answers "postgresql://postgres@127.0.0.1:5432/postgres"; then
  base="postgresql://postgres@127.0.0.1:5432"
else
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bin" ] || { echo "no PostgreSQL installed: run make setup" >&2; exit 1; }
  data="$PWD/.pgdata"; port=54329; run=""
  if [ "$(id -u)" -eq 0 ]; then run="runuser -u postgres --"; fi
  if [ ! -s "$data/PG_VERSION" ]; then
    mkdir -p "$data"; [ -z "$run" ] || chown postgres: "$data"
    $run "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! answers "postgresql://postgres@127.0.0.1:$port/postgres"; then
    $run "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  base="postgresql://postgres@127.0.0.1:$port"
fi

if ! psql -qAt "$base/postgres" -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  createdb -d "$base/postgres" "$db" 2>/dev/null || psql -q "$base/postgres" -c "CREATE DATABASE \"$db\""
fi
echo "$base/$db"
