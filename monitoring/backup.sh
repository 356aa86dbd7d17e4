#!/usr/bin/env bash
# Backups of the migrated KGV data — a thin wrapper over `kgv backup` for cron lines written for
# the earlier script. Everything (manifests with content hashes, roles, restore tests in a fresh
# private cluster, the retention policy, encryption, pgBackRest and PITR) is `kgv backup`'s;
# see the README's "Operations" section.
#
#   monitoring/backup.sh dump [DIR]      kgv backup dump, then kgv backup prune (the retention
#                                        policy: daily 30 days, weekly 12 weeks, monthly 12
#                                        months, archive-tagged forever); DIR is KGV_BACKUP_DIR
#   monitoring/backup.sh verify [DUMP]   kgv backup verify (default: the newest dump)
#
# Connection: KGV_PG_URL. Run it with the project's environment (docker/with-env.sh) or with
# `kgv` on PATH.
set -euo pipefail

die() { echo "backup.sh: $*" >&2; exit 1; }
usage() { sed -n '7,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ -n "${KGV_PG_URL:-}" ] || die "KGV_PG_URL is not set"
command -v kgv >/dev/null || die "kgv is not on PATH (make setup; docker/with-env.sh monitoring/backup.sh …)"

case "${1:-}" in
  dump)
    [ $# -le 2 ] || usage
    case "${2:-}" in --*) die "${2} is gone: retention is a policy now (kgv backup prune)" ;; esac
    [ $# -lt 2 ] || export KGV_BACKUP_DIR="$2"
    kgv backup dump
    kgv backup prune ;;
  verify)
    [ $# -le 2 ] || usage
    kgv backup verify ${2:+"$2"} ;;
  *) usage ;;
esac
