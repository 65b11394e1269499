#!/usr/bin/env bash
# Bring up the example shop: migrate, seed, then the sandbox, a Celery worker (with beat)
# and the site, all on loopback. Ctrl-C stops everything.
set -euo pipefail
BIN=${1:-.venv/bin}
PORT=${2:-8000}
SANDBOX_PORT=${3:-8765}
cd "$(dirname "$0")/.."

export TRYON_SANDBOX_URL="http://127.0.0.1:${SANDBOX_PORT}"
export TRYON_PUBLIC_BASE_URL="${TRYON_PUBLIC_BASE_URL:-http://127.0.0.1:${PORT}}"
MANAGE="$BIN/python example_project/manage.py"
mkdir -p var/log

$MANAGE migrate --noinput
$MANAGE seed_demo

# Job control gives each background service its own process group, so stopping the
# worker also stops its embedded beat process.
set -m
pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/python" -m django_tryon.sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" \
    --queue-seconds 2 --generation-seconds 6 >var/log/sandbox.log 2>&1 &
pids+=($!)
(cd example_project && exec "../$BIN/celery" -A shop_project worker --beat \
    --schedule ../var/celerybeat-schedule --concurrency 2 --loglevel INFO) \
    >var/log/worker.log 2>&1 &
pids+=($!)

cat <<MSG

  django-tryon demo
  shop:     http://127.0.0.1:${PORT}/
  admin:    http://127.0.0.1:${PORT}/admin/  (login admin / admin)
  sandbox:  ${TRYON_SANDBOX_URL}  (logs in var/log/)
  terminal: $BIN/python example_project/manage.py tryon --person PHOTO --garment IMAGE

MSG
$MANAGE runserver "127.0.0.1:${PORT}" --noreload
