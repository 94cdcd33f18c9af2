#!/usr/bin/env bash
# Run mig's tests with every PostgreSQL server process under valgrind
# (memcheck) and print the errors that have a frame in mig's sources.
#
#   test/valgrind.sh [regress] [isolation] [tap]      (default: regress isolation)
#   REGRESS="periodic counters" test/valgrind.sh regress
#   ISOLATION=verify-order test/valgrind.sh isolation
#   PROVE_TESTS="test/t/037_periodic.pl test/t/030_worker.pl" test/valgrind.sh tap
#
# As root (the tests then run as the postgres user, as with test/run).
# Exits 1 if valgrind saw an error in mig, 2 if it could not run, else the
# suites' status.  Logs: one per process in VG_LOGDIR (/tmp/mig-vg-logs).
#
# Which PostgreSQL (its bin/postgres is replaced by a script that execs
# valgrind on the real one, bin/postgres.real; initdb's bootstrap and
# single-user runs skip valgrind):
#
#   VG_PGSRC=DIR  PostgreSQL 15's source tree (apt-get source postgresql-15,
#                 with deb-src lines in APT's sources): built once into VG_PG
#                 with -DUSE_VALGRIND and assertions.  The one to use:
#                 USE_VALGRIND tells valgrind about every palloc chunk, so
#                 that a read of memory whose context was reset or deleted
#                 (or of a pfree'd chunk) is an error, and assertions catch
#                 misuses of PostgreSQL's APIs.  The suppressions default to
#                 DIR/src/tools/valgrind.supp.
#   (default)     a private copy of the system's PostgreSQL (tools/devpg.sh)
#                 in VG_PG.  Quicker to set up, but Debian's build does not
#                 instrument palloc: only errors in malloc'ed memory (gpgme,
#                 libc) and in whole memory-context blocks show, and some of
#                 PostgreSQL's suppressions cannot match its stripped static
#                 functions (their equivalents are added below).
#   PG_CONFIG     a private installation of one's own.
#
#   VG_PG         where the copy or the build goes (/tmp/mig-vg-pg)
#   VG_SUPP       PostgreSQL's src/tools/valgrind.supp (REL_15_STABLE);
#                 required without VG_PGSRC
#   VG_BUILD=0    mig is already built and installed there (a second run
#                 beside a first one; give each its own VG_LOGDIR)
#
# mig is built with -O0 -g.  Leaks are reported (--leak-check=full) but a
# leak of palloc memory is not counted: its memory context frees it.
#
# Time on 2 cores, measured: with USE_VALGRIND, regress 5 min, isolation
# 3.5 min, all of TAP 25 min (037_periodic + 030_worker + 036_spool_paths
# about 6 min); with Debian's build, regress 3 min, isolation 2 min, TAP
# 13.5 min.  Building PostgreSQL once: about 10 min.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(regress isolation)
for s in "${suites[@]}"; do
	case $s in
	regress | isolation | tap) ;;
	*) echo "unknown suite: $s (regress, isolation, tap)" >&2; exit 2 ;;
	esac
done

VG_PG=${VG_PG:-/tmp/mig-vg-pg}
VG_LOGDIR=${VG_LOGDIR:-/tmp/mig-vg-logs}
supp=${VG_SUPP:-${VG_PGSRC:+$VG_PGSRC/src/tools/valgrind.supp}}
[ -n "$supp" ] && [ -f "$supp" ] || {
	echo "give PostgreSQL's src/tools/valgrind.supp as VG_SUPP (or VG_PGSRC)" >&2
	exit 2
}
supp=$(realpath "$supp")
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
tools/deps.sh || exit 2
export LANG=C.UTF-8
unset LC_ALL LC_CTYPE LC_COLLATE

# the PostgreSQL to run
if [ -n "${PG_CONFIG:-}" ]; then
	bindir=$("$PG_CONFIG" --bindir) || exit 2
elif [ -n "${VG_PGSRC:-}" ]; then
	if [ ! -x "$VG_PG/bin/pg_config" ]; then
		echo "== build PostgreSQL from $VG_PGSRC into $VG_PG (USE_VALGRIND, assertions)"
		(cd "$VG_PGSRC" &&
			./configure --prefix="$VG_PG" --enable-debug --enable-cassert --enable-tap-tests \
				--without-icu --with-system-tzdata=/usr/share/zoneinfo \
				CFLAGS="-Og -g3 -fno-omit-frame-pointer -DUSE_VALGRIND" >/dev/null &&
			make -s -j"$(nproc)" >/dev/null && make -s install >/dev/null &&
			make -s -C src/test/isolation install >/dev/null) || exit 2
	fi
	bindir=$VG_PG/bin
else
	[ -x "$VG_PG/usr/lib/postgresql/15/bin/pg_config" ] || tools/devpg.sh "$VG_PG" >/dev/null || exit 2
	bindir=$VG_PG/usr/lib/postgresql/15/bin
fi
case $bindir in
/usr/*) echo "will not wrap the system's postgres ($bindir): give a private installation" >&2; exit 2 ;;
esac
export PG_CONFIG=$bindir/pg_config
[ -x "$bindir/postgres.real" ] || mv "$bindir/postgres" "$bindir/postgres.real" || exit 2

rm -rf "$VG_LOGDIR"
mkdir -p "$VG_LOGDIR"
chmod 1777 "$VG_LOGDIR"
# Debian's postgres has no symbols for its static functions, so that some
# of PostgreSQL's suppressions cannot match there: the same ones by their
# exported callers (the padding of WAL records, XLogWrite; of the relcache
# init file, write_relcache_init_file), and glibc's __memmove_chk, which
# valgrind takes for __memcpy_chk (RE_compile_and_cache moves its cache
# with memmove).  None of them matches anything of a USE_VALGRIND build.
cat >"$VG_LOGDIR/debian.supp" <<'EOF'
{
	debian_padding_XLogWrite_flush
	Memcheck:Param
	pwrite64(buf)
	...
	fun:XLogFlush
}
{
	debian_padding_XLogWrite_background
	Memcheck:Param
	pwrite64(buf)
	...
	fun:XLogBackgroundFlush
}
{
	debian_padding_XLogWrite_insert
	Memcheck:Param
	pwrite64(buf)
	...
	fun:XLogInsertRecord
}
{
	debian_padding_relcache
	Memcheck:Param
	write(buf)
	...
	fun:RelationCacheInitializePhase3
}
{
	debian_memmove_chk
	Memcheck:Overlap
	fun:__memcpy_chk
	fun:RE_compile_and_cache
}
EOF
# The wrapper takes VG_LOGDIR from the environment: two runs can share the
# installation.  Children that are not postgres (gpg, sh) are not traced.
cat >"$bindir/postgres.vg" <<EOF
#!/bin/sh
# valgrind around the server (test/valgrind.sh); not initdb's runs
real=$bindir/postgres.real
case "\${1:-}" in
--boot | --single | -V | --version | --describe-config | -C) exec "\$real" "\$@" ;;
esac
logs=\${VG_LOGDIR:-/tmp/mig-vg-logs}
exec valgrind --quiet --trace-children=yes \\
	--trace-children-skip='/bin/*,/usr/bin/*,/usr/sbin/*,/usr/lib/gnupg/*' \\
	--track-origins=yes --read-var-info=yes --num-callers=30 --fullpath-after= \\
	--leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \\
	--error-exitcode=0 --log-file="\$logs/%p.log" \\
	--suppressions=$supp --suppressions="\$logs/debian.supp" \\
	"\$real" "\$@"
EOF
chmod 755 "$bindir/postgres.vg"
mv -f "$bindir/postgres.vg" "$bindir/postgres"

if [ "${VG_BUILD:-1}" != 0 ]; then
	echo "== build and install mig (-O0 -g)"
	make -s clean
	if ! make -s PG_CFLAGS="-O0 -g" MIG_FAULTS=1 -j"$(nproc)" || ! make -s MIG_FAULTS=1 install >/dev/null; then
		echo "build or install failed"
		exit 2
	fi
fi

# the tests run in a copy owned by the tester, as with test/run
work=$(mktemp -d "${TMPDIR:-/tmp}/mig-vg.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar --exclude=.git -cf - . | tar -xf - -C "$work"
as_tester=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$work"
	chmod 755 "$work"
	as_tester=(runuser -u postgres --)
fi

# valgrind makes the server 20-50 times slower
export PGCTLTIMEOUT=1200 PG_TEST_TIMEOUT_DEFAULT=3000

# valgrind emulates the client's RLIMIT_DATA for brk alone, not for the
# malloc it replaces: mig.target_memory cannot hold (targets_memory.sql)
if [ -z "${REGRESS:-}" ]; then
	REGRESS=$(cd test/sql && ls -- *.sql | sed 's/\.sql$//' | grep -vx targets_memory | tr '\n' ' ')
fi

rc=0
for s in "${suites[@]}"; do
	case $s in
	regress) vars=(ISOLATION= TAP_TESTS= ${REGRESS:+REGRESS="$REGRESS"}) ;;
	isolation) vars=(REGRESS= TAP_TESTS= ${ISOLATION:+ISOLATION="$ISOLATION"}) ;;
	tap) vars=(REGRESS= ISOLATION= ${PROVE_TESTS:+PROVE_TESTS="$PROVE_TESTS"}) ;;
	esac
	echo "== $s ($(date +%T))"
	start=$SECONDS
	(cd "$work" && "${as_tester[@]}" env PATH="$PATH" VG_LOGDIR="$VG_LOGDIR" \
		PGCTLTIMEOUT="$PGCTLTIMEOUT" PG_TEST_TIMEOUT_DEFAULT="$PG_TEST_TIMEOUT_DEFAULT" \
		make -s installcheck "${vars[@]}") 2>&1 | tee "$VG_LOGDIR/suite-$s.out"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	echo "== $s took $((SECONDS - start)) s"
	if [ -f "$work/regression.diffs" ]; then
		mv "$work/regression.diffs" "$VG_LOGDIR/$s.diffs"
		echo "-- differences: $VG_LOGDIR/$s.diffs"
	fi
	[ -d "$work/tmp_check/log" ] && cp -r "$work/tmp_check/log" "$VG_LOGDIR/$s-tap-log"
done

# valgrind's blocks ("==PID== ..." up to an empty "==PID== ") with a frame
# in mig's sources (valgrind names them with their full path)
echo "== valgrind: errors with a frame in mig"
found=0
for f in "$VG_LOGDIR"/*.log; do
	[ -s "$f" ] || continue
	out=$(awk -v src="$top/src/" '
		function flush() {
			# a leak of palloc memory is memory a context frees, not a leak
			if (index(blk, src) && !(blk ~ /definitely lost/ &&
				blk ~ /(palloc|MemoryContextAlloc|AllocSetAlloc|AllocSetRealloc)[^a-z_]/))
				print blk
			blk = ""
		}
		/^==[0-9]+== *$/ { flush(); next }
		/^==[0-9]+== / { blk = blk $0 "\n" }
		END { flush() }' "$f")
	if [ -n "$out" ]; then
		found=1
		echo "-- $f"
		echo "$out"
	fi
done
others=$(grep -l -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall param|Mismatched|Source and dest)' \
	"$VG_LOGDIR"/*.log 2>/dev/null | wc -l)
echo "== $others process logs with an error of any code (PostgreSQL's and the libraries' too) in $VG_LOGDIR"
[ "$found" -eq 0 ] || { echo "valgrind found errors in mig"; exit 1; }
echo "valgrind found no error in mig"
exit $rc
