#!/usr/bin/env bash
# Install what mig needs on Debian 12 (apt, as root or through sudo).  Does
# nothing when every package is already installed.
#
#   tools/deps.sh          to build, run and test mig (test/run, CI)
#   tools/deps.sh build    to build and run it only (tools/demo.sh)
set -euo pipefail

# to build mig and run it
packages=(
	postgresql-15 postgresql-server-dev-15
	libjansson-dev libgpgme-dev gnupg pkg-config make gcc
)
# to test it: the TAP tests (IPC::Run), the Go reference of the canonical
# string (golang-go); the Debian package (debian/, test/run's package
# suite): debhelper and postgresql-server-dev-all (pg_buildext's dh add-on)
# are its Build-Depends beyond mig's own, build-essential is what
# dpkg-buildpackage checks for besides them (it brings dpkg-dev), and no
# fakeroot: debian/control says Rules-Requires-Root: no; the fuzzers
# (test/fuzz): clang with libFuzzer and the sanitizers' runtimes
# (libclang-rt-14-dev), llvm for the symbolizer and llvm-cov, and libcrypto
# (libssl-dev) for the frontend libpgcommon's SHA-256.
case ${1:-all} in
build) ;;
all)
	packages+=(
		libipc-run-perl golang-go
		build-essential debhelper postgresql-server-dev-all
		clang llvm libclang-rt-14-dev libssl-dev clang-tools-14
	) ;;
*) echo "usage: tools/deps.sh [build]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	sudo=sudo
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
