#!/usr/bin/env bash
# Runs a command with DUCHA_TEST_POSTGRES pointing at a PostgreSQL server.
#
# If DUCHA_TEST_POSTGRES is already set, the command runs against that server.
# Otherwise a throwaway server is started from the machine's own binaries
# (pg_config --bindir, or /usr/lib/postgresql/*/bin): initdb into a temporary
# directory (as the `postgres` user when run as root, since initdb refuses root),
# listening on a free loopback port, stopped and removed when the command ends.
# When no server can be had the command still runs, without the variable: the
# PostgreSQL tests then skip, or fail when CI=true.
set -euo pipefail

if [ -n "${DUCHA_TEST_POSTGRES:-}" ]; then
  exec "$@"
fi

bindir=""
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
  bindir=$(pg_config --bindir)
else
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && bindir=$d
  done
fi
if [ -z "$bindir" ]; then
  echo "with-postgres: no PostgreSQL server binaries found (initdb); PostgreSQL tests will skip (or fail under CI=true)" >&2
  exec "$@"
fi

tmp=$(mktemp -d /tmp/ducha-pg.XXXXXX)
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$tmp" 2>/dev/null || true
  as_pg() { runuser -u postgres -- "$@"; }
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))

cleanup() {
  as_pg "$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

as_pg "$bindir/initdb" -D "$tmp/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$tmp/initdb.log" 2>&1 || {
  cat "$tmp/initdb.log" >&2; echo "with-postgres: initdb failed" >&2; exit 1; }
# Throwaway test server: durability off for speed; enough connections for
# parallel packages. DUCHA_PG_DURABLE=1 keeps PostgreSQL's durable defaults
# (fsync, synchronous_commit, full_page_writes on), for honest benchmark
# figures (`make bench`), with the settings docs/PERFORMANCE.md recommends
# for a production server: memory for the province's aggregates and sorts
# (work_mem; the default 4MB spills the checklist's GROUP BY to disk),
# shared buffers, no JIT (it compiles for longer than these queries run).
durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c jit=off"
if [ "${DUCHA_PG_DURABLE:-}" = 1 ]; then
  durability="-c max_wal_size=4GB -c shared_buffers=1GB -c work_mem=64MB -c maintenance_work_mem=256MB -c jit=off"
fi
as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $tmp $durability -c max_connections=300" \
  start >/dev/null || { cat "$tmp/server.log" >&2; echo "with-postgres: server did not start" >&2; exit 1; }

export DUCHA_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "with-postgres: throwaway PostgreSQL at 127.0.0.1:$port" >&2
set +e
"$@"
rc=$?
exit $rc
