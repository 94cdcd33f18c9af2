#!/usr/bin/env bash
# Line and branch coverage of mig's C sources by its tests (test/run's
# coverage suite, doc/development.md, "Coverage"): mig is built with gcc's
# --coverage (-O0) in a copy of the tree, installed into a private
# PostgreSQL, the suites run against it, and gcov's figures are printed per
# file of src/.
#
#   test/coverage.sh [regress] [isolation] [tap]   (default: all three)
#   PROVE_TESTS=test/t/030_worker.pl test/coverage.sh tap
#
# As root, the tests run as the postgres user, as with test/run.  Prints
# every suite's output, then one line per file of src/
# (test/coverage-summary.pl):
#
#   src/keyring.c     lines  97.4% (  226 of   232)  branches  88.1% ( 104 of  118) [all ...]
#
# lines: the lines executed; branches: those taken at least once, of the
# branches on lines that hold a condition (in brackets: of all that gcov
# counts, macros' included), both of what gcc instruments at -O0.  A
# process that ends without exit() (a crash, an immediate shutdown's
# children) writes no counts: the figures are a floor.  Then a line per
# target, and "coverage targets met" when the files that decide and check
# signatures and authorizations reach 95% of their lines and 85% of their
# branches:
#
#   src/verify.c src/authorize.c src/record.c src/vcache.c src/keyring.c
#
# Exits non-zero if a suite or a target failed.  COV_KEEP=1 keeps the copy
# of the tree it ran in, and says where: its counts (src/*.gcda) and gcov's
# annotated sources (gcov/*.c.gcov, "#####" marks a line no test ran).
#
# Which PostgreSQL: PG_CONFIG, a private installation (tools/devpg.sh); by
# default a copy of the system's made in COV_PG (/tmp/mig-cov-pg).  Never
# the system's own: the build it installs writes its counts under the copy
# of the tree.
set -uo pipefail
cd "$(dirname "$0")/.."

targets=(src/verify.c src/authorize.c src/record.c src/vcache.c src/keyring.c)
line_target=95
branch_target=85

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(regress isolation tap)
for s in "${suites[@]}"; do
	case $s in
	regress | isolation | tap) ;;
	*) echo "unknown suite: $s (regress, isolation, tap)" >&2; exit 2 ;;
	esac
done
command -v gcov >/dev/null || { echo "gcov is not installed (gcc)" >&2; exit 2; }
# the summary's own check: of test/fixtures/coverage/sample.c.gcov it counts
# the branches of the condition that runs over lines 5-6 and of the one
# that runs over lines 8-9 (6 of 8 taken), not those of the macros on the
# lines after them (all of gcov's: 9 of 14)
perl test/coverage-summary.pl "$line_target" "$branch_target" test/fixtures/coverage/sample.c.gcov |
	grep -q '^src/sample\.c .* branches  75\.0% (   6 of    8) \[all  64\.3%,    9 of   14\]$' ||
	{ echo "test/coverage-summary.pl miscounts test/fixtures/coverage/sample.c.gcov" >&2; exit 2; }
tools/deps.sh || exit 2
export LANG=C.UTF-8
unset LC_ALL LC_CTYPE LC_COLLATE

if [ -z "${PG_CONFIG:-}" ]; then
	COV_PG=${COV_PG:-/tmp/mig-cov-pg}
	[ -x "$COV_PG/usr/lib/postgresql/15/bin/pg_config" ] || tools/devpg.sh "$COV_PG" >/dev/null || exit 2
	PG_CONFIG=$COV_PG/usr/lib/postgresql/15/bin/pg_config
fi
bindir=$("$PG_CONFIG" --bindir) || exit 2
case $bindir in
/usr/*) echo "will not install a coverage build into the system's PostgreSQL ($bindir): give a private one" >&2; exit 2 ;;
esac
export PG_CONFIG

# the build and the tests in one copy, which the tester owns: the server's
# processes write their counts beside the objects
work=$(mktemp -d "${TMPDIR:-/tmp}/mig-cov.XXXXXX")
[ -n "${COV_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
tar --exclude=.git --exclude=./results --exclude=./output_iso \
	--exclude='./tmp_check*' --exclude=./regression.diffs --exclude=./regression.out \
	--exclude=./log --exclude=./bench/out --exclude=./demo-cluster \
	--exclude=./test/fuzz/build \
	--exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude='*.gc*' -cf - . |
	tar -xf - -C "$work"

echo "== build and install mig with --coverage (-O0)"
if ! (cd "$work" && make -s MIG_WERROR=1 MIG_FAULTS=1 COPT="-O0 --coverage" -j"$(nproc)" &&
	make -s MIG_FAULTS=1 install >/dev/null); then
	echo "build or install failed"
	exit 2
fi
as_tester=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$work"
	chmod 755 "$work"
	as_tester=(runuser -u postgres --)
fi

rc=0
for s in "${suites[@]}"; do
	case $s in
	regress) vars=(ISOLATION= TAP_TESTS= ${REGRESS:+REGRESS="$REGRESS"}) ;;
	isolation) vars=(REGRESS= TAP_TESTS= ${ISOLATION:+ISOLATION="$ISOLATION"}) ;;
	tap) vars=(REGRESS= ISOLATION= ${PROVE_TESTS:+PROVE_TESTS="$PROVE_TESTS"}) ;;
	esac
	echo "== $s"
	(cd "$work" && "${as_tester[@]}" env PATH="$PATH" make -s installcheck "${vars[@]}") 2>&1
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	if [ -f "$work/regression.diffs" ]; then
		echo "-- regression.diffs"
		cat "$work/regression.diffs"
		rm -f "$work/regression.diffs"
	fi
done

# gcov's annotated sources (gcov/*.c.gcov), summed up per file
echo "== coverage (gcov -b)"
if ! (cd "$work" && rm -rf gcov && mkdir gcov && gcov -b -o src src/*.c >/dev/null 2>&1 &&
	mv ./*.gcov gcov/); then
	echo "gcov failed"
	exit 2
fi
summary=$(perl test/coverage-summary.pl "$line_target" "$branch_target" "${targets[@]}" \
	"$work"/gcov/*.c.gcov)
echo "$summary"
if [ -n "${COV_KEEP:-}" ]; then
	echo "-- the build, its counts and gcov's annotated sources: $work (gcov/*.c.gcov)"
fi
grep -q '^coverage targets met$' <<<"$summary" || rc=1
exit $rc
