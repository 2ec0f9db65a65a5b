#!/usr/bin/env bash
# make cluster: three duet processes on this machine (:8081, :8082, :8083) sharing the
# local PostgreSQL (database duet_cluster, created when missing) and the local Redis.
# Open a session on one port and the same session on another: they are one session.
# Ctrl-C stops all three.
set -euo pipefail
BIN=${BIN:-bin/duet}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/duet_cluster?sslmode=disable}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}

if command -v psql >/dev/null 2>&1; then
	psql "$PGURL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'duet_cluster'" | grep -q 1 ||
		psql "$PGURL" -qc "CREATE DATABASE duet_cluster"
fi

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT
for port in 8081 8082 8083; do
	"$BIN" -addr "127.0.0.1:$port" -store postgres -database-url "$DATABASE_URL" \
		-bus redis -redis-url "$REDIS_URL" -log-format text "$@" &
	pids+=($!)
done
echo "duet on http://127.0.0.1:8081, :8082 and :8083 (one PostgreSQL, one Redis); Ctrl-C stops them"
wait
