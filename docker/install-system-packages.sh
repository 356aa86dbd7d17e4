#!/usr/bin/env bash
# Installs the system packages kgv_assets needs on Debian/Ubuntu (the CI machine, a developer's
# laptop, the Dockerfile). Idempotent; a no-op for packages that are already there.
# Usage: docker/install-system-packages.sh [base|browser|bench|monitoring|deploy|backup|security|all]...
set -euo pipefail
groups=("$@"); [ ${#groups[@]} -gt 0 ] || groups=(base)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-packages: no apt-get here; install PostgreSQL+PostGIS, unixODBC and FreeTDS yourself" >&2
  exit 0
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"

pg_major() {
  if command -v pg_config >/dev/null 2>&1; then pg_config --version | sed -E 's/[^0-9]*([0-9]+).*/\1/'
  elif [ -d /usr/lib/postgresql ]; then ls /usr/lib/postgresql | sort -n | tail -1
  else echo 15; fi
}

pkgs=()
for g in "${groups[@]}"; do
  case "$g" in
    # libsqliteodbc: the SQLite ODBC driver, through which the tests and bench/odbc.py read the
    # demo source as the ODBC readers read SQL Server (arrow-odbc and pyodbc)
    base)
      v=$(pg_major)
      pkgs+=(postgresql-$v postgresql-client-$v postgresql-$v-postgis-3 postgresql-$v-postgis-3-scripts
             unixodbc unixodbc-dev tdsodbc freetds-bin sqlite3 libsqliteodbc) ;;
    browser) pkgs+=(chromium fonts-dejavu-core) ;;
    # the benchmark's other peers, sling (its wheel carries the binary) and dlt, are Python
    # packages of the dev extra in docker/requirements.lock: nothing to install here for them
    bench) pkgs+=(pgloader time) ;;
    monitoring) pkgs+=(prometheus prometheus-postgres-exporter prometheus-alertmanager
                       prometheus-pushgateway) ;;
    # docker-compose (Debian's 1.29) parses and checks docker/docker-compose.yml without an engine
    deploy) pkgs+=(docker-compose) ;;
    backup) pkgs+=(pgbackrest age) ;;  # physical backups and PITR; encryption of dumps
    # access logging of reads of personal data (pgaudit); the TLS tests' self-signed CA (openssl)
    security) pkgs+=(postgresql-$(pg_major)-pgaudit openssl) ;;
    all) exec "$0" base browser bench monitoring deploy backup security ;;
    *) echo "unknown group $g" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Keep the package's own services from being started on install: the project starts what it needs.
# Debian's prometheus packages would start daemons on 9090/9187 (where `make monitor` and the
# tests listen) on a machine with systemd: a temporary policy-rc.d refuses just those.
if [[ " ${missing[*]}" == *" prometheus"* && ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\ncase "$1" in prometheus*) exit 101 ;; esac\nexit 0\n' |
    $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
