#!/usr/bin/env bash
# The one-, two- and three-process benchmark of BENCHMARKS.md: the same typing load
# (duetload) on one duet alone, one with the Redis bus, then two and three with it,
# every process on the local PostgreSQL (a fresh database) and a private
# redis-server. Each session's clients are spread over the processes; CPU is the sum
# over every duet process (PostgreSQL's and Redis's own CPU are not counted).
#   deploy/cluster/bench.sh [duetload flags...]   (BIN, LOAD: the binaries)
set -euo pipefail
BIN=${BIN:-bin/duet}
LOAD=${LOAD:-bin/duetload}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
OUT=${OUT:-/dev/null}
REDIS_PORT=${REDIS_PORT:-16379}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >/dev/null &
redis_pid=$!
pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

run() { # label processes bus
	local label=$1 n=$2 bus=$3 db="duet_bench_$RANDOM$RANDOM"
	shift 3
	psql "$PGURL" -qc "CREATE DATABASE $db"
	local url="${PGURL%/*}/$db?sslmode=disable" urls=() ps=()
	pids=()
	for i in $(seq 1 "$n"); do
		local port=$((18080 + i))
		local busflags=()
		if [ "$bus" = redis ]; then busflags=(-bus redis -redis-url "redis://127.0.0.1:$REDIS_PORT/0"); fi
		"$BIN" -addr "127.0.0.1:$port" -metrics-addr "127.0.0.1:$((19080 + i))" -store postgres -database-url "$url" "${busflags[@]}" -log-level warn \
			-sessions-per-minute 0 -socket-opens-per-minute 0 -max-sockets-per-address 0 -max-event-streams-per-address 0 &
		pids+=($!)
		ps+=($!)
		urls+=("http://127.0.0.1:$port")
	done
	sleep 2
	local also_url also_pid
	also_url=$(IFS=,; echo "${urls[*]:1}")
	also_pid=$(IFS=,; echo "${ps[*]:1}")
	"$LOAD" -url "${urls[0]}" -pid "${ps[0]}" ${also_url:+-also-url "$also_url" -also-pid "$also_pid"} -label "$label" -out "$OUT" "$@" || true
	local conflicts=0 accepted=0
	for i in $(seq 1 "$n"); do
		local m
		m=$(curl -s "http://127.0.0.1:$((19080 + i))/metrics")
		conflicts=$((conflicts + $(echo "$m" | awk '/^duet_append_conflicts_total /{print int($2)}')))
		accepted=$((accepted + $(echo "$m" | awk '/^duet_updates_accepted_total /{print int($2)}')))
	done
	echo "bench: $label: $accepted updates accepted, $conflicts appends beaten by another process"
	kill "${pids[@]}"
	wait "${pids[@]}" 2>/dev/null || true
	pids=()
	psql "$PGURL" -qc "DROP DATABASE $db WITH (FORCE)"
}
shift_args=("$@")
run "1 process, no bus" 1 none "${shift_args[@]}"
run "1 process, redis bus" 1 redis "${shift_args[@]}"
run "2 processes, redis bus" 2 redis "${shift_args[@]}"
run "3 processes, redis bus" 3 redis "${shift_args[@]}"
