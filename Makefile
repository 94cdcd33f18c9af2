# mig: PGXS build.  `make`, `make install`, then `test/run`
# (doc/development.md).

EXTENSION = mig
MODULE_big = mig
DATA = mig--1.0.sql mig--1.0--1.1.sql mig--1.1--1.2.sql mig--1.2.sql mig--1.2.control
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

PG_CONFIG ?= pg_config
PKG_CONFIG ?= pkg-config

# jansson and gpgme: pkg-config first, gpgme-config for older gpgme.
JANSSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags jansson)
JANSSON_LIBS := $(shell $(PKG_CONFIG) --libs jansson)
GPGME_CFLAGS := $(shell $(PKG_CONFIG) --cflags gpgme 2>/dev/null || gpgme-config --cflags)
GPGME_LIBS := $(shell $(PKG_CONFIG) --libs gpgme 2>/dev/null || gpgme-config --libs)

PG_CPPFLAGS = -I$(srcdir)/src $(JANSSON_CFLAGS) $(GPGME_CFLAGS) -D_FILE_OFFSET_BITS=64 \
	$(if $(MIG_FAULTS),-DMIG_FAULT_INJECTION)
# MIG_FAULTS=1 compiles in the fault injection of the tests (src/mig.h,
# mig.fault_injection): test/run's builds, never a package's.
# Clean under -Wextra, as PostgreSQL is, but for its usual exceptions; CI
# adds -Werror (MIG_WERROR=1).
PG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-sign-compare $(if $(MIG_WERROR),-Werror)
SHLIB_LINK = $(JANSSON_LIBS) $(GPGME_LIBS)

# Tests: adding a test is adding a file.
REGRESS = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --temp-instance=tmp_check_regress \
	--temp-config=test/regress.conf
ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=. --temp-instance=tmp_check_iso \
	--temp-config=test/regress.conf
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

EXTRA_CLEAN = results output_iso tmp_check tmp_check_regress tmp_check_iso \
	regression.diffs regression.out .mig-faults-on .mig-faults-off

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies unless PostgreSQL was configured with
# --enable-depend: every object depends on every header of src/, and on a
# stamp of MIG_FAULTS, so that turning it on or off rebuilds them all.
# (made when the makefile is read: PGXS's .SECONDARY would not remake a
# missing one)
FAULTS_STAMP := .mig-faults-$(if $(MIG_FAULTS),on,off)
$(shell test -f $(FAULTS_STAMP) || { rm -f .mig-faults-on .mig-faults-off; touch $(FAULTS_STAMP); })
$(OBJS): $(wildcard src/*.h) $(FAULTS_STAMP)
