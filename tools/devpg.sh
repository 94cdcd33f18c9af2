#!/usr/bin/env bash
# Make a private, relocatable copy of the system's PostgreSQL 15 under DIR, so
# that several checkouts can build, install and test mig at the same time
# without installing into (or racing on) the system's directories:
#
#   tools/devpg.sh /tmp/pg-mine
#   PG_CONFIG=/tmp/pg-mine/usr/lib/postgresql/15/bin/pg_config test/run
#
# PostgreSQL finds its share and lib directories relative to its binaries,
# which is what makes the copy work.
set -euo pipefail
dir=${1:?usage: tools/devpg.sh DIR}
bindir=$(pg_config --bindir)
mkdir -p "$dir"
for d in "$(dirname "$bindir")" "$(pg_config --sharedir)" "$(pg_config --includedir)"; do
	mkdir -p "$dir$(dirname "$d")"
	cp -a "$d" "$dir$(dirname "$d")/"
done
chmod -R a+rX "$dir"
echo "PG_CONFIG=$dir$bindir/pg_config"
