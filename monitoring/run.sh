#!/usr/bin/env bash
# Runs the monitoring in the foreground (`make monitor`): prometheus-postgres-exporter with
# monitoring/postgres-exporter/queries.yaml against KGV_PG_URL, and Prometheus with
# monitoring/prometheus/prometheus.yml (rules: alerts.yml). Ctrl-C stops both.
#
#   KGV_PG_URL             the target database (docker/with-env.sh sets the demo's)
#   KGV_EXPORTER_PORT      exporter port on 127.0.0.1 (9187, where prometheus.yml scrapes)
#   KGV_PROMETHEUS_PORT    Prometheus port on 127.0.0.1 (9090); "off" runs the exporter alone
#   KGV_PROMETHEUS_DATA    Prometheus' storage (.prometheus in the project)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
[ -n "${KGV_PG_URL:-}" ] || { echo "run.sh: KGV_PG_URL is not set" >&2; exit 1; }
exporter_port=${KGV_EXPORTER_PORT:-9187}
prometheus_port=${KGV_PROMETHEUS_PORT:-9090}
data=${KGV_PROMETHEUS_DATA:-$root/.prometheus}

# The exporter's driver (lib/pq) requires TLS unless told otherwise: on loopback say so,
# elsewhere keep what the URL asks for (add sslmode=verify-full to it in production).
dsn=$KGV_PG_URL
loopback='^postgres(ql)?://([^@/]*@)?(127\.0\.0\.1|localhost|\[::1\])([:/?]|$)'
if [[ "$dsn" != *sslmode=* && "$dsn" =~ $loopback ]]; then
  case "$dsn" in *\?*) dsn="$dsn&sslmode=disable" ;; *) dsn="$dsn?sslmode=disable" ;; esac
fi

pids=()
stop() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; wait; }
trap stop EXIT INT TERM

DATA_SOURCE_NAME="$dsn" prometheus-postgres-exporter \
  --web.listen-address="127.0.0.1:$exporter_port" \
  --extend.query-path="$here/postgres-exporter/queries.yaml" &
pids+=($!)
echo "exporter:   http://127.0.0.1:$exporter_port/metrics"

if [ "$prometheus_port" != off ]; then
  mkdir -p "$data"
  prometheus --config.file="$here/prometheus/prometheus.yml" \
    --storage.tsdb.path="$data" \
    --web.listen-address="127.0.0.1:$prometheus_port" &
  pids+=($!)
  echo "prometheus: http://127.0.0.1:$prometheus_port (alerts: /alerts)"
fi
wait -n
