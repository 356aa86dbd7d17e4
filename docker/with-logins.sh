#!/usr/bin/env bash
# Runs a command as the least-privilege logins (README: Security and personal data), under
# docker/with-env.sh. With KGV_PG_URL the superuser's URL: creates the logins (passwords in
# .demo/logins.env, made once, mode 0600) and applies the schema as the owner, then runs
# the command with
#   KGV_PG_URL          the loader (the pipeline)      KGV_PG_READER_URL    checks, report
#   KGV_PG_REVIEWER_URL kgv gdpr                        KGV_DAGSTER_PG_URL   Dagster's storage
# The passwords reach libpq through a passfile (PGPASSFILE), never a URL or a command line.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
admin="$KGV_PG_URL"
secrets="$root/.demo/logins.env"
mkdir -p "$root/.demo"
if [ ! -s "$secrets" ]; then
  ( umask 077
    for v in MIGRATOR LOADER READER REVIEWER DAGSTER; do
      echo "export KGV_${v}_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
    done > "$secrets" )
fi
# shellcheck source=/dev/null
. "$secrets"
export KGV_PG_OWNER_URL="$admin"
kgv roles create >/dev/null
kgv schema apply >/dev/null

eval "$(KGV_DEMO_DIR="$root/.demo" python3 - "$admin" <<'PY'
import os, sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
host, port, db = u.hostname or "127.0.0.1", u.port or 5432, u.path.lstrip("/")
passfile = os.path.join(os.environ["KGV_DEMO_DIR"], "pgpass")
lines = []
for login, var in [("kgv_loader", "LOADER"), ("kgv_reader", "READER"),
                   ("kgv_reviewer", "REVIEWER"), ("kgv_dagster", "DAGSTER")]:
    pw = os.environ[f"KGV_{var}_PASSWORD"].replace("\\", "\\\\").replace(":", "\\:")
    lines.append(f"{host}:{port}:{db}:{login}:{pw}")
fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write("\n".join(lines) + "\n")
q = sys.argv[1].split("?", 1)
query = f"?{q[1]}" if len(q) > 1 else ""
for name, login in [("KGV_PG_URL", "kgv_loader"), ("KGV_PG_READER_URL", "kgv_reader"),
                    ("KGV_PG_REVIEWER_URL", "kgv_reviewer"), ("KGV_DAGSTER_PG_URL", "kgv_dagster")]:
    print(f"export {name}='postgresql://{login}@{host}:{port}/{db}{query}'")
print(f"export PGPASSFILE='{os.path.abspath(passfile)}'")
PY
)"
unset KGV_MIGRATOR_PASSWORD KGV_LOADER_PASSWORD KGV_READER_PASSWORD KGV_REVIEWER_PASSWORD \
      KGV_DAGSTER_PASSWORD
exec "$@"
