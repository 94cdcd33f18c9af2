# Sourced by the benchmarks: start a throwaway cluster with mig preloaded,
# owned by the postgres user when run as root, and stop it on exit.
#   bench_cluster_start NAME   sets $BENCH_DIR, $PSQL (an array) and $PGBENCH
bench_cluster_start() {
	local name=$1
	local bindir
	bindir=$(${PG_CONFIG:-pg_config} --bindir)
	BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mig-bench-$name.XXXXXX")
	BENCH_AS=()
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$BENCH_DIR"
		BENCH_AS=(runuser -u postgres --)
	fi
	"${BENCH_AS[@]}" "$bindir/initdb" -D "$BENCH_DIR/data" -A trust -U postgres --no-instructions >/dev/null
	cat >>"$BENCH_DIR/data/postgresql.conf" <<CONF
port = ${BENCH_PORT:-55499}
listen_addresses = ''
unix_socket_directories = '$BENCH_DIR'
shared_preload_libraries = 'mig'
mig.spool_dir = '$BENCH_DIR/spool'
mig.database = 'bench'
shared_buffers = '512MB'
max_wal_size = '4GB'
checkpoint_timeout = '30min'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
	"${BENCH_AS[@]}" "$bindir/pg_ctl" -D "$BENCH_DIR/data" -l "$BENCH_DIR/log" -w start >/dev/null
	trap bench_cluster_stop EXIT
	PSQL=("${BENCH_AS[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$BENCH_DIR" -p "${BENCH_PORT:-55499}" -U postgres)
	PGBENCH=("${BENCH_AS[@]}" "$bindir/pgbench" -h "$BENCH_DIR" -p "${BENCH_PORT:-55499}" -U postgres)
	"${PSQL[@]}" -d postgres -c 'CREATE DATABASE bench'
	"${PSQL[@]}" -d bench -c 'CREATE EXTENSION mig'
}

bench_cluster_stop() {
	"${BENCH_AS[@]}" "$(${PG_CONFIG:-pg_config} --bindir)/pg_ctl" -D "$BENCH_DIR/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$BENCH_DIR"
}
