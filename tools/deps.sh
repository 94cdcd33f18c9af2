#!/usr/bin/env bash
# Install what mig needs to build, test and run on Debian 12 (apt, as root or
# through sudo).  Does nothing when every package is already installed.
set -euo pipefail

# The last line is the Debian package's (debian/, test/run's package suite):
# debhelper and postgresql-server-dev-all (pg_buildext's dh add-on) are its
# Build-Depends beyond mig's own; build-essential is what dpkg-buildpackage
# checks for besides them (it brings dpkg-dev).  No fakeroot: debian/control
# says Rules-Requires-Root: no.  The fuzzers (test/fuzz) need clang with
# libFuzzer and the sanitizers' runtimes (libclang-rt-14-dev), llvm for the
# symbolizer and llvm-cov, and libcrypto (libssl-dev) for the frontend
# libpgcommon's SHA-256.
packages=(
	postgresql-15 postgresql-server-dev-15
	libjansson-dev libgpgme-dev gnupg pkg-config
	make gcc libipc-run-perl golang-go
	build-essential debhelper postgresql-server-dev-all
	clang llvm libclang-rt-14-dev libssl-dev
)

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
