# Sourced by the benchmarks: a throwaway cluster with mig preloaded and a
# database "bench" with the extension, owned by the postgres user when run as
# root, stopped and removed on exit.
#
#   bench_cluster_start NAME     sets BENCH_DIR (the cluster's directory, also
#                                its socket directory), BENCH_AS (the command
#                                prefix to run as the cluster's owner),
#                                BENCH_BIN, BENCH_PORT, and the arrays
#                                BENCH_PSQL and BENCH_PGBENCH (on "bench")
#   BENCH_CONF                   extra postgresql.conf lines
#   bench_on_exit                if the script defines it, run before the stop
#   bench_fmt, bench_ratio,      figures as doc/benchmarks.md writes them, a
#   bench_met, bench_median      target met or missed, a median
bench_cluster_start() {
	local name=$1
	BENCH_BIN=$(${PG_CONFIG:-pg_config} --bindir)
	BENCH_PORT=${PORT:-55499}
	BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mig-bench-$name.XXXXXX")
	chmod 755 "$BENCH_DIR"
	BENCH_AS=()
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$BENCH_DIR"
		BENCH_AS=(runuser -u postgres --)
	fi
	trap bench_cluster_stop EXIT
	"${BENCH_AS[@]}" "$BENCH_BIN/initdb" -D "$BENCH_DIR/data" -E UTF8 --locale=C -A trust \
		-U postgres --no-instructions >/dev/null
	cat >>"$BENCH_DIR/data/postgresql.conf" <<CONF
port = $BENCH_PORT
listen_addresses = ''
unix_socket_directories = '$BENCH_DIR'
shared_preload_libraries = 'mig'
mig.spool_dir = '$BENCH_DIR/spool'
mig.database = 'bench'
shared_buffers = '512MB'
max_wal_size = '4GB'
${BENCH_CONF:-}
CONF
	"${BENCH_AS[@]}" "$BENCH_BIN/pg_ctl" -D "$BENCH_DIR/data" -l "$BENCH_DIR/log" -w start >/dev/null
	BENCH_PSQL=("${BENCH_AS[@]}" "$BENCH_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$BENCH_DIR"
		-p "$BENCH_PORT" -U postgres -d bench)
	BENCH_PGBENCH=("${BENCH_AS[@]}" "$BENCH_BIN/pgbench" -h "$BENCH_DIR" -p "$BENCH_PORT" -U postgres)
	"${BENCH_AS[@]}" "$BENCH_BIN/psql" -X -q -h "$BENCH_DIR" -p "$BENCH_PORT" -U postgres -d postgres \
		-c 'CREATE DATABASE bench'
	"${BENCH_PSQL[@]}" -c 'CREATE EXTENSION mig' \
		-c 'ALTER DATABASE bench SET search_path = "$user", public, mig'
	echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $("${BENCH_AS[@]}" "$BENCH_BIN/postgres" --version)"
}

bench_cluster_stop() {
	if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
	"${BENCH_AS[@]}" "$BENCH_BIN/pg_ctl" -D "$BENCH_DIR/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$BENCH_DIR"
}

# bench_fmt VALUE [DECIMALS]: VALUE rounded, thousands separated by commas,
# as doc/benchmarks.md writes figures
bench_fmt() {
	awk -v x="$1" -v d="${2:-0}" 'BEGIN {
		s = sprintf("%." d "f", x); sign = ""
		if (substr(s, 1, 1) == "-") { sign = "-"; s = substr(s, 2) }
		i = index(s, "."); if (i == 0) i = length(s) + 1
		whole = substr(s, 1, i - 1); rest = substr(s, i)
		while (length(whole) > 3) {
			rest = "," substr(whole, length(whole) - 2) rest
			whole = substr(whole, 1, length(whole) - 3)
		}
		print sign whole rest
	}'
}

# bench_ratio A B [DECIMALS]: A / B, "0.66x"
bench_ratio() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (b == 0) print "n/a"; else printf "%." d "fx\n", a / b }'
}

# bench_met VALUE OP LIMIT: "met" or "missed", VALUE OP ("<=", "<", ">=")
# LIMIT being the target
bench_met() {
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		ok = (op == "<=") ? v <= l : (op == "<") ? v < l : (op == ">=") ? v >= l : v > l
		print ok ? "met" : "missed"
	}'
}

# bench_median V...: the median of the values
bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
