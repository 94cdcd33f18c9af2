#!/usr/bin/env bash
# The demo (README.md): install what mig needs, build and install it, start a
# throwaway PostgreSQL 15 cluster with mig preloaded in a local directory,
# load a small sample, and print what is in the tables.
#
#   tools/demo.sh          set up and start (again: starts over)
#   tools/demo.sh stop     stop the cluster and remove its directory
#
# MIG_DEMO_DIR (default ./demo-cluster) and MIG_DEMO_PORT (default 55432)
# choose where and on which port.  Run as root, the cluster runs as the
# "postgres" user (PostgreSQL refuses to run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

port=${MIG_DEMO_PORT:-55432}
dir=${MIG_DEMO_DIR:-$top/demo-cluster}

as_owner=()
if [ "$(id -u)" -eq 0 ]; then
	as_owner=(runuser -u postgres --)
	# the postgres user must reach the directory; a checkout under /root
	# is not reachable, so fall back to /var/tmp
	if ! runuser -u postgres -- test -x "$(dirname "$dir")" 2>/dev/null; then
		dir=/var/tmp/mig-demo
	fi
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data

pg_config_bin() { "$(${PG_CONFIG:-pg_config} --bindir)/$1"; }
run() { "${as_owner[@]}" "$@"; }

stop_cluster() {
	if [ -f "$data/postmaster.pid" ]; then
		run "$(${PG_CONFIG:-pg_config} --bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
	fi
}

if [ "${1:-}" = stop ]; then
	if [ ! -d "$data" ]; then
		rmdir "$dir" 2>/dev/null || true
		echo "no demo cluster in $dir"
		exit 0
	fi
	stop_cluster
	rm -rf "$dir"
	echo "demo cluster stopped and $dir removed"
	exit 0
fi

echo "== dependencies"
tools/deps.sh

echo "== build and install mig"
make -s -j"$(nproc)"
if [ "$(id -u)" -eq 0 ]; then make -s install >/dev/null; else sudo make -s install >/dev/null; fi

echo "== cluster in $dir (port $port)"
stop_cluster
rm -rf "$dir"
mkdir -p "$dir"
[ ${#as_owner[@]} -gt 0 ] && chown postgres: "$dir"
bindir=$(${PG_CONFIG:-pg_config} --bindir)
run "$bindir/initdb" -D "$data" -A trust -U postgres --no-instructions >/dev/null
cat >>"$data/postgresql.conf" <<EOF
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
EOF
run "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w start >/dev/null
psql=("${as_owner[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
# The spool worker connects to mig.database as the server starts: the
# database first, then mig in shared_preload_libraries (which takes a
# restart), so that the worker never starts before its database exists
# (a FATAL in the log, and a restart after 5 seconds).
"${psql[@]}" -d postgres -c "CREATE DATABASE mig_demo"
cat >>"$data/postgresql.conf" <<EOF
shared_preload_libraries = 'mig'
mig.database = 'mig_demo'
mig.spool_dir = '$dir/spool'
mig.rescan_interval = '2s'
EOF
run "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w restart >/dev/null
"${psql[@]}" -d mig_demo -c "CREATE EXTENSION mig"

echo "== sample"
fx=test/fixtures/authz
"${psql[@]}" -d mig_demo -v ivan="$(cat $fx/ivan.pub)" -v judy="$(cat $fx/judy.pub)" \
	-v a1="$(cat $fx/a1.json)" -v a1ivan="$(cat $fx/a1.ivan.asc)" \
	-v a2="$(cat $fx/a2.json)" -v a2ivan="$(cat $fx/a2.ivan.asc)" -v a2judy="$(cat $fx/a2.judy.asc)" \
	-f - <tools/demo.sql

echo
echo "== the spool: MIG's scheduler drops 3 actions and 30 commands into $dir/spool"
# written by bench/mkspool as the scheduler writes them (a hidden name, then
# a rename into place); the worker wakes on the renames
"${as_owner[@]}" perl bench/mkspool "$dir/spool" 30 --actions 3 --agents 10 \
	--first-id 5000 --heartbeats "$dir/heartbeats.jsonl" >/dev/null
wait_for() {	# poll until the query says t (at most 30 s)
	for _ in $(seq 150); do
		[ "$("${psql[@]}" -d mig_demo -At -c "$1")" = t ] && return 0
		sleep 0.2
	done
	echo "demo: timed out waiting for: $1" >&2
	return 1
}
wait_for "SELECT count(*) = 33 FROM spool_files"
"${psql[@]}" -d mig_demo -c "SELECT kind, dir, outcome, count(*) FROM spool_files GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
echo "== the commands wait for their agents: their heartbeats arrive"
"${psql[@]}" -d mig_demo -At -v hb="$(cat "$dir/heartbeats.jsonl")" <<'SQL' | tr '\n' ' '
SELECT count(mig_agent_heartbeat(line::json)) || ' agents registered'
  FROM regexp_split_to_table(:'hb', '\n') line WHERE line <> '';
SQL
echo
wait_for "SELECT count(*) = 0 FROM spool_files WHERE outcome = 'deferred'"
"${psql[@]}" -d mig_demo <<'SQL'
\pset footer off
SELECT kind, outcome, count(*) FROM spool_files GROUP BY 1, 2 ORDER BY 1, 2;
SELECT id, name, status, sentctr, returnedctr, donectr, cancelledctr, failedctr, timeoutctr
  FROM actions WHERE id >= 5000 ORDER BY id;
SELECT actionid, status, count(*) FROM commands GROUP BY 1, 2 ORDER BY 1, 2;
SELECT pid IS NOT NULL AS worker_running, state, last_pass IS NOT NULL AS has_passed, backlog, deferred, failed
  FROM mig_worker_status;
SQL

# psql over the cluster's socket as the user postgres (trust: whoever may
# reach the socket, root included), without sudo, which a bare Debian lacks
cat <<EOF

The demo cluster is running.
  connect:  $bindir/psql -h $dir -p $port -U postgres mig_demo
  log:      $dir/server.log
  stop:     ${MIG_DEMO_DIR:+MIG_DEMO_DIR=$dir }tools/demo.sh stop
EOF
