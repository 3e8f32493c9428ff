# xdrec - PGXS build of the extension, plus the pure-C core's own targets.
#
#   make / make install      the extension (xdrec.so, control file, install script)
#   make installcheck        pg_regress against a running server (sql/, expected/)
#   make unit                test/unit/xdrec_unit, the core's unit tests (no PG headers)
#   make check-unit [FILTER=substring]
#   make valgrind [VALGRIND_FILTER="pattern -excluded"]  (default: -slow)
#   make bench               every test/bench/bench_*.c, each its own binary
#   make bench-serve         serving latency, TPS, rank_many and GFLOP/s at 1k,
#                            10k, 100k items on a throwaway cluster (docs/serving.md)
#   make bench-serve-blend   rank and rank_many of a blend version against
#                            target-only alone, one backend (docs/serving.md)
#   make search-real         the learning-rate search alone on the real views:
#                            the grid validated whole against the default, 3 seeds
#   make report-context      docs/context-report.md: MMT-Net vs FMT-Net vs no context
#   make report-transfer     docs/transfer-report.md + docs/img/transfer-*.png:
#                            target-only, Direct, Anneal, DRR, auto (15-30 min)
#   make report-cold         docs/cold-report.md + docs/img/cold-hit10.png: cold-start
#                            users (CMML, with the repeat term) against heuristics,
#                            fine-tuning, item-kNN and warm users; synthetic, DePaulMovie,
#                            the Tijuana restaurants and MovieLens ml-latest-small
#                            (~1 h 30 on the shared machine)
#   make report-cold-real    the real tables alone, printed (~30 min of CPU)
#   make report-cold-targets cold users of adapted targets (DRR, target-only) on the
#                            transfer report's world: the source's module as is,
#                            meta-trained on the target, the heuristics; printed
#                            (6 seeds, ~25 min on the shared machine)
#   make report-fewshot      docs/fewshot-report.md + docs/img/fewshot-hit10.png: new
#                            domains from N = 16..512 interactions, s²Meta against
#                            DRR, target-only, heuristics and its ablations, synthetic
#                            and (test/real/fetch.sh) TripAdvisor by state, averaged
#                            over 4 seed sets (12.4 min of CPU, 20 min on the shared
#                            machine; REPORT_FEWSHOT_FLAGS='--seed-sets 1': one set,
#                            about a fourth of it, too noisy for the goals at N = 64)
#   make report-biao         docs/biao-report.md: BIAO's weighted source training
#                            against plain, its ablations and weights, synthetic and
#                            (test/real/fetch.sh) TripAdvisor (quick: ~12 min of CPU;
#                            REPORT_BIAO_FLAGS=--full for the larger world)
#   make report-real         docs/real-report.md + docs/img/real-*.png: every
#                            method and the heuristics on real public data,
#                            6 seeds, each its own split (42, 1, 2, 3, 4, 5;
#                            with XD_REAL_SPLIT_SEED=n every seed on split n;
#                            XD_REAL_SEEDS=n: n seeds, 2..20; each seed adds
#                            a sixth of the time; the printed runs below keep
#                            3 seeds) (test/real/fetch.sh fetches and checks
#                            it first; not a test: CI cannot fetch; about 50 min,
#                            more under load)
#   make report-real-quick   target-only with and without the repeat term (and
#                            the term as a calibrated lift only) against the
#                            heuristics on TripAdvisor, full-ranking MRR split
#                            by query kind, printed (~8 min of CPU)
#   make report-real-lift    the same with the repeat-term rows as repeat 'lift'
#                            (docs/serving.md#repeats), each rule that could
#                            choose the lift, TripAdvisor and DePaulMovie, printed
#                            (~10 min of CPU)
#   make report-real-auto-lift  the product's default (auto, auto_blend) with
#                            repeat 'lift' against the same fits without it and
#                            the heuristic, what repeat 'auto' applies, and the
#                            lift with popularity in context among the user's
#                            items, TripAdvisor and DePaulMovie, printed (~5 min)
#   make report-real-by-kind  the product's row as served (auto's three fits, the
#                            blend, repeat 'auto''s decision) against the
#                            heuristics on TripAdvisor's full ranking, split
#                            by the test positive's kind (a repeat or a new
#                            pair), with the user's own items lifted (all, or
#                            the top ones) and the repeat/explore mixture
#                            (an experiment), 6 seeds, printed (~15 min)
#   make report-real-untuned  the same report on STS (prepare.py's sts_ratings), a
#                            dataset no default was tuned on, 3 seeds, to
#                            build/real-untuned/real-report.md (under a minute;
#                            docs/transfer.md, "A dataset the defaults were not
#                            tuned on": read it, never tune on it)
#   make report-explicit     small explicit targets against the damped means:
#                            target-only with its biases from 0 and from the
#                            damped means, the bias-only model and rules on
#                            validation, TripAdvisor ratings and InCarMusic,
#                            splits 42-19 (choice 42-5, confirmation 6-19),
#                            printed (~3 min; docs/transfer.md, "Small
#                            explicit targets against the damped means")
#   make report-transfer-control  report-transfer's control world alone, its
#                            section to build/report-transfer-control/ (half
#                            the report's CPU; the same fits, seeds and data)
#   make report-transfer-lift   report-transfer's two worlds, quick, every fit
#                            repeat 'lift' (build/report-transfer-lift/)
#   make check-core-headers  fails if the pure-C core includes a PostgreSQL header
#   make deps                fails if files of the PostgreSQL layer depend on each
#                            other in a circle, or a folder on a later one
#                            (test/deps.sh; docs/CONTRIBUTING.md)
#   make check-server-valgrind  the regression tests against a server under
#                            valgrind (test/server_valgrind.sh; slow, not in check.sh)
#   make check-tap [TAP_TESTS=test/t/NNN_name.pl]  the TAP tests (test/t/README.md),
#                            installing first; as root
#   make bench-cluster       scale-out over three local nodes: routing p50/p99,
#                            replication lag, adapt_all on 1 vs 3 nodes; as root
#   make check-fresh         the README's two commands in a fresh Debian 12 root
#                            (debootstrap + chroot, test/check_fresh.sh; slow, not in CI)
#
# Source lists are wildcards over one level of folders (the layers of
# docs/architecture.md), so adding a file to a folder of src/core/ or src/pg/
# (or a test to test/unit/, sql/) needs no edit here.

EXTENSION = xdrec
MODULE_big = xdrec

CORE_SRCS := $(sort $(wildcard src/core/*/*.c))
PG_SRCS := $(sort $(wildcard src/pg/*.c src/pg/*/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)

# The install script of the current version is built from sql/src/*.sql in
# name order, as pgvector builds its own: parts named *.install.sql (the
# schema and the tables) run only on CREATE EXTENSION; the others (functions
# and views, CREATE OR REPLACE) also end the upgrade script to this version,
# after its head in sql/upgrade/. Released scripts (sql/xdrec--0.1.0.sql) are
# frozen in sql/ and installed beside them, so ALTER EXTENSION UPDATE works
# from every release (docs/CONTRIBUTING.md, "The install script").
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
SQL_PARTS := $(sort $(wildcard sql/src/*.sql))
SQL_RERUNNABLE := $(filter-out %.install.sql,$(SQL_PARTS))
SQL_UPGRADE_HEADS := $(wildcard sql/upgrade/$(EXTENSION)--*--$(EXTVERSION).sql)
SQL_BUILT = sql/$(EXTENSION)--$(EXTVERSION).sql $(patsubst sql/upgrade/%,sql/%,$(SQL_UPGRADE_HEADS))
SQL_RELEASED := $(filter-out $(SQL_BUILT),$(wildcard sql/$(EXTENSION)--*.sql))
DATA = $(SQL_RELEASED) $(SQL_BUILT)

# Every sql/*.sql except the install/upgrade scripts is a regression test;
# each test creates and drops what it needs, so the order does not matter.
REGRESS = $(sort $(filter-out xdrec--%,$(basename $(notdir $(wildcard sql/*.sql)))))
REGRESS_OPTS = --inputdir=.

# The serial OpenBLAS, linked explicitly (DESIGN section 8): the default
# pthread build starts threads at load and may hang after fork.
OPENBLAS_INC = /usr/include/x86_64-linux-gnu/openblas-serial
OPENBLAS_LIB = /usr/lib/x86_64-linux-gnu/openblas-serial
BLAS_LIBS = -L$(OPENBLAS_LIB) -lopenblas -Wl,-rpath,$(OPENBLAS_LIB)

# -Isrc/core: the core's folders share its internal header (mmt/model_int.h);
# -Isrc/pg: each folder of the PostgreSQL layer has its header ("data/data.h",
# "store/store.h", ...), which the later folders include
PG_CPPFLAGS = -Iinclude -Isrc/core -Isrc/pg -I$(OPENBLAS_INC) -DXDREC_VERSION='"$(EXTVERSION)"'
# PostgreSQL's own headers trip -Wextra's unused-parameter, missing-field-
# initializers and sign-compare; everything else stays an error. Mixed
# declarations are legal gnu11 and accepted by the unit build, so the PG build
# does not reject them either. VLAs stay an error in both builds, as in
# PostgreSQL's own flags: a VLA sized by data can overflow a backend's stack.
XD_VLA = -Werror=vla
# No a * b + c contracted into one FMA: the activations' wide kernels
# (AVX2, AVX-512F, src/core/mmt/activation.c) are compiled for units that have
# FMA, and must give the baseline's values bit for bit.
XD_FP = -ffp-contract=off
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers -Wno-sign-compare \
	-Wno-declaration-after-statement $(XD_VLA) $(XD_FP) -MMD -MP
SHLIB_LINK = $(BLAS_LIBS) -lm

EXTRA_CLEAN = build test/unit/xdrec_unit results regression.diffs regression.out log \
	$(OBJS:.o=.d) $(SQL_BUILT)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

all: $(SQL_BUILT)

# the library is built for the catalog version it checks (src/pg/xdrec.c)
src/pg/xdrec.o: $(EXTENSION).control

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

sql/$(EXTENSION)--%--$(EXTVERSION).sql: sql/upgrade/$(EXTENSION)--%--$(EXTVERSION).sql $(SQL_RERUNNABLE)
	cat $^ > $@

# ---------------------------------------------------------------------------
# The pure-C core on its own: plain gcc, no PostgreSQL headers.

UNIT_CC = gcc
UNIT_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wmissing-prototypes \
	$(XD_VLA) $(XD_FP) -Iinclude -Isrc/core -I$(OPENBLAS_INC) -MMD -MP
UNIT_LIBS = $(BLAS_LIBS) -lm

UNIT_SRCS := $(sort $(wildcard test/unit/*.c))
BENCH_SRCS := $(sort $(wildcard test/bench/bench_*.c))
CORE_UNIT_OBJS = $(patsubst src/core/%.c,build/core/%.o,$(CORE_SRCS))
UNIT_OBJS = $(patsubst test/unit/%.c,build/unit/%.o,$(UNIT_SRCS))
BENCH_BINS = $(patsubst test/bench/%.c,build/bench/%,$(BENCH_SRCS))

# A postgres header in the core would tie it to the server; refuse it.
PG_HEADER_RE = ^[[:space:]]*\#[[:space:]]*include[[:space:]]*[<"](postgres\.h|postgres_fe\.h|c\.h|fmgr\.h|funcapi\.h|miscadmin\.h|pgstat\.h|executor/|utils/|catalog/|access/|nodes/|storage/|commands/|libpq/|parser/|tcop/|postmaster/|replication/|lib/|port/)

.PHONY: unit check-unit valgrind bench bench-serve bench-serve-blend check-core-headers deps report-context report-transfer report-cold report-cold-targets report-cold-real report-fewshot report-biao report-real report-real-quick report-real-lift report-real-auto-lift report-real-untuned report-explicit report-real-by-kind report-transfer-control report-transfer-lift search-real check-server-valgrind check-tap check-fresh bench-cluster

# the extension's own build enforces the boundary too
all: check-core-headers

check-core-headers:
	@if grep -rnE '$(PG_HEADER_RE)' src/core include/xdrec; then \
		echo "error: the pure-C core (src/core, include/xdrec) must not include PostgreSQL headers"; \
		exit 1; \
	fi

build/core/%.o: src/core/%.c
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -c -o $@ $<

build/unit/%.o: test/unit/%.c
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -c -o $@ $<

test/unit/xdrec_unit: $(CORE_UNIT_OBJS) $(UNIT_OBJS)
	$(UNIT_CC) -o $@ $^ $(UNIT_LIBS)

unit: check-core-headers test/unit/xdrec_unit

check-unit: unit
	test/unit/xdrec_unit $(FILTER)

VALGRIND = valgrind --quiet --error-exitcode=1 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect

# Tests with "slow" in their name train to convergence: too slow under valgrind.
VALGRIND_FILTER ?= -slow

valgrind: unit
	$(VALGRIND) test/unit/xdrec_unit $(VALGRIND_FILTER)

# benchmarks may reach the core's internals (mmt/model_int.h, on -Isrc/core)
build/bench/%: test/bench/%.c $(CORE_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_UNIT_OBJS) $(UNIT_LIBS)

bench: check-core-headers $(BENCH_BINS)
ifeq ($(strip $(BENCH_SRCS)),)
	@echo "no benchmarks (test/bench/bench_*.c) yet"
else
	@set -e; for b in $(BENCH_BINS); do echo "== $$b"; $$b; done
endif

bench-serve: check-core-headers build/bench/serve_kernel
	bash test/bench/serve.sh

bench-serve-blend:
	bash test/bench/serve_blend.sh

report-context: check-core-headers build/bench/report_context
	build/bench/report_context > docs/context-report.md

report-transfer: check-core-headers build/bench/report_transfer
	build/bench/report_transfer docs

# the cold path with the repeat term (its goals are judged with it); the real
# tables are small (7 and 8 cold users a seed), so 40 seeds each: 10 read
# Tijuana's K = 5 as 1.11x, 40 as 1.03x; MovieLens ml-latest-small (43 cold
# users a seed, about a minute of CPU each) 16 (TABLE@N: N seeds on that
# table); report-cold-real: those alone, printed
REPORT_COLD_FLAGS ?= --repeat --real-seeds 40
COLD_TABLES = build/real/depaulmovie.tsv build/real/tijuana.tsv build/real/ml-latest-small.tsv@16
report-cold: check-core-headers build/bench/report_cold
	bash test/real/cold_data.sh || echo "report-cold: no real data, synthetic only"
	@mkdir -p docs/img
	build/bench/report_cold $(REPORT_COLD_FLAGS) docs $(COLD_TABLES)

report-cold-targets: check-core-headers build/bench/report_cold
	build/bench/report_cold --repeat --targets --seeds 6 build

report-cold-real: check-core-headers build/bench/report_cold
	bash test/real/cold_data.sh
	@mkdir -p build/cold-real/img
	build/bench/report_cold $(REPORT_COLD_FLAGS) --real-only build/cold-real $(COLD_TABLES)
	cat build/cold-real/cold-report.md

REAL_VIEWS = tripadvisor tripadvisor_ratings incarmusic

report-fewshot: check-core-headers build/bench/report_fewshot
	bash test/real/fetch.sh || echo "report-fewshot: no real data, synthetic only"
	build/bench/report_fewshot docs $$(test -f build/real/tripadvisor_states.tsv && \
		echo --real build/real/tripadvisor_states.tsv) $(REPORT_FEWSHOT_FLAGS)

# the reports on real data share the loader of prepared views; the BIAO
# report draws its synthetic world from the unit tests' fixtures
build/bench/report_real: test/bench/report_real.c test/bench/real_view.c $(CORE_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ $< test/bench/real_view.c $(CORE_UNIT_OBJS) $(UNIT_LIBS)

build/bench/search_real: test/bench/search_real.c test/bench/real_view.c $(CORE_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ $< test/bench/real_view.c $(CORE_UNIT_OBJS) $(UNIT_LIBS)

build/bench/explicit_real: test/bench/explicit_real.c test/bench/real_view.c $(CORE_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ $< test/bench/real_view.c $(CORE_UNIT_OBJS) $(UNIT_LIBS)

build/bench/report_fewshot: test/bench/report_fewshot.c test/bench/real_view.c $(CORE_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -o $@ $< test/bench/real_view.c $(CORE_UNIT_OBJS) $(UNIT_LIBS)

build/bench/report_biao: test/bench/report_biao.c test/bench/real_view.c test/unit/fixture.c $(CORE_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -Itest/unit -o $@ $< test/bench/real_view.c test/unit/fixture.c \
		$(CORE_UNIT_OBJS) $(UNIT_LIBS)

report-biao: check-core-headers build/bench/report_biao
	bash test/real/fetch.sh || echo "report-biao: no real data, synthetic only"
	build/bench/report_biao docs $$(test -f build/real/tripadvisor.tsv && \
		echo --real build/real/tripadvisor.tsv) $(REPORT_BIAO_FLAGS)

report-real: check-core-headers build/bench/report_real
	bash test/real/fetch.sh
	build/bench/report_real build/real docs $(REAL_VIEWS)

# the learning-rate search alone, every domain of the real views by the grid
# validated whole, the default (its fits stop on a part) and 0.1.0's single
# fit, 3 seeds, printed (docs/training.md, "Learning-rate search")
search-real: check-core-headers build/bench/search_real
	bash test/real/fetch.sh
	build/bench/search_real build/real tripadvisor incarmusic

# target-only with and without the repeat term beside the heuristics, on the
# implicit view, split by query kind, printed (minutes, not the report's hour)
report-real-quick: check-core-headers build/bench/report_real
	bash test/real/fetch.sh
	build/bench/report_real --quick build/real docs tripadvisor

# repeat 'lift' (docs/serving.md#repeats): the repeat-term rows fitted with
# it, beside the heuristics, on TripAdvisor and DePaulMovie (its own target)
report-real-lift: check-core-headers build/bench/report_real
	bash test/real/fetch.sh
	bash test/real/cold_data.sh
	build/bench/report_real --quick --lift build/real docs tripadvisor depaulmovie

# the product's default adaptation (auto, auto_blend) with repeat 'lift',
# every candidate calibrated, against the same fits without the lift and the
# heuristic, TripAdvisor and DePaulMovie, printed (docs/transfer.md, "Repeats and the heuristics")
report-real-auto-lift: check-core-headers build/bench/report_real
	bash test/real/fetch.sh
	bash test/real/cold_data.sh
	build/bench/report_real --auto-lift build/real docs tripadvisor
	build/bench/report_real --auto-lift build/real docs depaulmovie

# the product's default against "own items first, then popular in context"
# on full ranking, by the test positive's kind (docs/transfer.md, "Where the
# default loses MRR to the heuristic")
report-real-by-kind: check-core-headers build/bench/report_real
	bash test/real/fetch.sh
	build/bench/report_real --seeds 6 --by-kind build/real docs tripadvisor

# the report on a dataset no default was tuned on (STS), kept out of
# report-real's views so that nothing is ever chosen on it
report-explicit: check-core-headers build/bench/explicit_real
	bash test/real/fetch.sh
	build/bench/explicit_real --splits 0 20 --part 0 6 --part 6 20 build/real \
		tripadvisor_ratings incarmusic

report-real-untuned: check-core-headers build/bench/report_real
	bash test/real/fetch.sh
	@mkdir -p build/real-untuned
	build/bench/report_real --seeds 3 build/real build/real-untuned sts_ratings

# the synthetic worlds with every fit repeat 'lift' (the control world's
# verdict), quick, written to build/report-transfer-lift/
report-transfer-control: check-core-headers build/bench/report_transfer
	@mkdir -p build/report-transfer-control
	build/bench/report_transfer build/report-transfer-control --control

report-transfer-lift: check-core-headers build/bench/report_transfer
	@mkdir -p build/report-transfer-lift
	build/bench/report_transfer build/report-transfer-lift --quick --lift

check-server-valgrind:
	bash test/server_valgrind.sh

# the objects first: test/deps.sh reads who defines and uses what with nm
deps: $(PG_SRCS:.c=.o)
	bash test/deps.sh

check-tap:
	bash -c '. test/lib.sh && xd_build_install && xd_prove $(TAP_TESTS)'

# scale-out over three local nodes: routing overhead, replication lag,
# adapt_all on one node against three (docs/scale.md); a few minutes
bench-cluster:
	bash -c '. test/lib.sh && xd_build_install && xd_prove test/bench/cluster.pl'

check-fresh:
	bash test/check_fresh.sh

# Header dependencies of both builds (-MMD -MP): a changed header rebuilds
# every object that includes it (PGXS does not track them unless PostgreSQL
# itself was configured with --enable-depend).
-include $(wildcard build/core/*/*.d build/unit/*.d build/bench/*.d src/core/*/*.d src/pg/*.d src/pg/*/*.d)
