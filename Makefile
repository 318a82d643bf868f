# Makefile: the top-level build. A fresh clone needs only `make run` or
# `make check`: missing Debian packages are installed (as root) or named,
# and ./configure runs by itself the first time.
#
#   make            build build/default/ftpd
#   make run        serve the example share anonymously on 127.0.0.1:2121
#   make check      unit tests (Check) and integration tests (real clients)
#   make check VARIANT=asan   the same, built with ASan and UBSan
#   make bench      ftpd against vsftpd (as root; not part of check);
#                   make bench BENCH_ARGS=--quick for a short run

VARIANT ?= default
BUILD   := build/$(VARIANT)
PYTHON  ?= python3
RUN_LISTEN ?= 127.0.0.1:2121

-include config.mk

# Quiet by default; `make V=1` shows the full commands.
ifeq ($(V),1)
Q =
say = @:
else
Q = @
say = @echo
endif

ifeq ($(VARIANT),asan)
VARIANT_CFLAGS  = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
VARIANT_LDFLAGS = -fsanitize=address,undefined
else
VARIANT_CFLAGS  = $(CONFIGURED_CFLAGS)
VARIANT_LDFLAGS =
endif

WARNINGS = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARNINGS) $(VARIANT_CFLAGS) $(CPPFLAGS_CONFIGURED) \
	-Iinclude -Isrc -Ishells \
	-DFTPD_VERSION='"$(PACKAGE_VERSION)"' \
	-DFTPD_SYSCONFDIR='"$(sysconfdir)"' \
	$(EVENT_CFLAGS) $(SSL_CFLAGS) $(CRYPT_CFLAGS) $(CFLAGS)
ALL_LIBS = $(EVENT_LIBS) $(SSL_LIBS) $(CRYPT_LIBS) $(LIBS_CONFIGURED)
ALL_LDFLAGS = $(LDFLAGS_CONFIGURED) $(VARIANT_LDFLAGS) $(LDFLAGS)

# Everything but main.c goes into a static library that the unit tests link.
LIB_SOURCES  := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard shells/*.c)
LIB_OBJECTS  := $(LIB_SOURCES:%.c=$(BUILD)/%.o)
UNIT_SOURCES := $(wildcard tests/unit/*.c)
UNIT_OBJECTS := $(UNIT_SOURCES:%.c=$(BUILD)/%.o)

FTPD      := $(BUILD)/ftpd
LIBFTPD   := $(BUILD)/libftpd.a
UNIT_RUNNER := $(BUILD)/unit-tests

.PHONY: all run check unit integration bench clean distclean deps test-deps
.DEFAULT_GOAL := all

all: $(FTPD)

config.mk: configure config.mk.in
	./configure

configure: configure.ac | deps
	autoconf

deps:
	@build-aux/ensure-deps build

test-deps:
	@build-aux/ensure-deps test

$(BUILD)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(say) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/%.o: tests/unit/%.c config.mk
	@mkdir -p $(dir $@)
	$(say) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBFTPD): $(LIB_OBJECTS)
	@rm -f $@
	$(say) "  AR      $@"
	$(Q)ar rcs $@ $^

$(FTPD): $(BUILD)/src/main.o $(LIBFTPD)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(UNIT_RUNNER): $(UNIT_OBJECTS) $(LIBFTPD)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(ALL_LIBS)

run: $(FTPD)
	$(FTPD) -f -c conf/run.conf -o listen=$(RUN_LISTEN)

unit: $(UNIT_RUNNER)
	$(UNIT_RUNNER)

integration: $(FTPD) test-deps
	FTPD=$(FTPD) $(PYTHON) tests/integration/run.py $(TESTS)

bench: $(FTPD)
	@build-aux/ensure-deps test
	$(PYTHON) tests/bench/bench.py --ftpd $(FTPD) $(BENCH_ARGS)

check: test-deps
	$(MAKE) unit
	$(MAKE) integration

clean:
	rm -rf build

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache

-include $(LIB_OBJECTS:.o=.d) $(UNIT_OBJECTS:.o=.d) $(BUILD)/src/main.d
