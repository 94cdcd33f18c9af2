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
tools/deps.sh build

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
mig.spool_dir = '$dir/spool'
EOF
run "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w start >/dev/null
# The spool worker connects to mig.database as the server starts: the
# database first, then tools/demo.conf (mig in shared_preload_libraries,
# which takes a restart), so that the worker never starts before its
# database exists (a FATAL in the log, and a restart after 5 seconds).
run "$bindir/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -c "CREATE DATABASE mig_demo"
cat tools/demo.conf >>"$data/postgresql.conf"
run "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w restart >/dev/null
echo "== sample"
# tools/demo-load: the sample, also what the manual's examples run against
# (test/t/060_readme.pl)
PGHOST=$dir PGPORT=$port PGUSER=postgres tools/demo-load "$dir/spool" ${as_owner:+postgres}

# psql over the cluster's socket as the user postgres (trust: whoever may
# reach the socket, root included), without sudo, which a bare Debian lacks
cat <<EOF

The demo cluster is running.
  connect:  $bindir/psql -h $dir -p $port -U postgres mig_demo
  log:      $dir/server.log
  stop:     ${MIG_DEMO_DIR:+MIG_DEMO_DIR=$dir }tools/demo.sh stop
EOF
