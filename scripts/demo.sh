#!/usr/bin/env bash
# Bring up the example shop: migrate, seed, then the sandbox, a Celery worker (with beat)
# and the site, all on loopback. Ctrl-C stops everything.
set -euo pipefail
BIN=${1:-.venv/bin}
PORT=${2:-8000}
SANDBOX_PORT=${3:-8765}
cd "$(dirname "$0")/.."
BIN="$(cd "$BIN" && pwd)"  # absolute: the worker starts from example_project/

export TRYON_SANDBOX_URL="http://127.0.0.1:${SANDBOX_PORT}"
export TRYON_PUBLIC_BASE_URL="${TRYON_PUBLIC_BASE_URL:-http://127.0.0.1:${PORT}}"
MANAGE="$BIN/python example_project/manage.py"
VAR="${SHOP_VAR_DIR:-var}"
LOG="$VAR/log"
mkdir -p "$LOG"

$MANAGE migrate --noinput
$MANAGE seed_demo

# Job control gives each service its own process group: a Ctrl-C reaches this script
# (it waits below), and the script stops each service itself, in order.
set -m
pids=()
cleanup() {
    trap - EXIT INT TERM
    # TERM to each service's main process only. Celery then stops its own pool and beat;
    # TERM to the worker's whole group reached the pool children too, and billiard's pool
    # shutdown could hang on them (and logged "ForkPoolWorker exited with signal 15").
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 100); do
        alive=""
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    # After 10 s, or for anything a service left behind, no more asking.
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    echo "demo stopped"
}
trap cleanup EXIT INT TERM

"$BIN/python" -m django_tryon.sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" \
    --queue-seconds 2 --generation-seconds 6 >"$LOG/sandbox.log" 2>&1 &
pids+=($!)
# (beat keeps its schedule where the settings say: CELERY_BEAT_SCHEDULE_FILENAME.)
(cd example_project && exec "$BIN/celery" -A shop_project worker --beat --concurrency 2 \
    --loglevel INFO) >"$LOG/worker.log" 2>&1 &
pids+=($!)

cat <<MSG

  django-tryon demo
  shop:     http://127.0.0.1:${PORT}/
  admin:    http://127.0.0.1:${PORT}/admin/  (login admin / admin)
  sandbox:  ${TRYON_SANDBOX_URL}  (logs in ${LOG}/)
  terminal: $BIN/python example_project/manage.py tryon --person PHOTO --garment IMAGE
  stop:     Ctrl-C

MSG
$MANAGE runserver "127.0.0.1:${PORT}" --noreload </dev/null &
pids+=($!)
# wait returns as soon as a trapped signal arrives (a foreground command would defer it).
wait "$!"
