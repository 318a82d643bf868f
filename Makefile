# Makefile: the top-level build. A fresh clone needs only `make run` or
# `make check`: missing Debian packages are installed (as root) or named,
# and ./configure runs by itself the first time.
#
#   make            build build/default/ftpd and build/default/ftpload, the
#                   load generator (ftpload(1))
#   make run        serve the example share anonymously on 127.0.0.1:2121
#   make check      unit tests (Check) and integration tests (real clients)
#   make check VARIANT=asan   the same, built with ASan and UBSan
#   make install    sbin/ftpd, man pages, ftpd.conf.example, systemd units,
#                   include/ftpd/shell.h, ftpd-shell.pc, /etc/pam.d/ftpd and
#                   /etc/logrotate.d/ftpd unless they exist
#                   (prefix and DESTDIR honoured)
#   make dist       ftpd-VERSION.tar.gz; make distcheck builds and tests it
#   make bench      the benchmark table: ftpd against vsftpd, pure-ftpd,
#                   pyftpdlib and Twisted through ftpload (as root; not part
#                   of check; tests/bench/README); make bench
#                   BENCH_ARGS=--quick for a short run
#   make bench-haproxy  sessions/s and 100-client RETR with no balancer, then
#                   HAProxy in front of one instance and of two
#                   (tests/bench/haproxy.py; BENCH_ARGS=--quick)
#   make fuzz       the libFuzzer targets of tests/fuzz/, built with clang,
#                   ASan and UBSan into build/fuzz/, each run FUZZ_SECONDS
#                   (default 30) on a scratch copy of its corpus; fails on
#                   any crash, leak or sanitizer report (inputs and logs are
#                   kept in build/fuzz/)
#   make soak       the ASan+UBSan build, then the plain one, as a daemon
#                   under 200 mixed clients for SOAK_SECONDS each (default
#                   60); fails on a sanitizer report, an unexpected reply, a
#                   descriptor not closed or RSS growth (not part of check);
#                   SOAK_ARGS="--clients 50 --keep" and so on, see
#                   tests/soak/soak.py --help

VARIANT ?= default
BUILD   := build/$(VARIANT)
PYTHON  ?= python3
RUN_LISTEN ?= 127.0.0.1:2121
FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
SOAK_SECONDS ?= 60

-include config.mk

# Where `shell = NAME` finds NAME.so by default (the shell_dir key).
shelldir = $(libdir)/ftpd/shells
pkgconfigdir = $(libdir)/pkgconfig

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
else ifeq ($(VARIANT),fuzz)
# Every object gets libFuzzer's coverage hooks; only the targets link its main().
VARIANT_CFLAGS  = -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
VARIANT_LDFLAGS = -fsanitize=fuzzer,address,undefined
else
VARIANT_CFLAGS  = $(CONFIGURED_CFLAGS)
VARIANT_LDFLAGS =
endif

WARNINGS = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARNINGS) $(VARIANT_CFLAGS) $(CPPFLAGS_CONFIGURED) \
	-Iinclude -Isrc -Ishells \
	-DFTPD_VERSION='"$(PACKAGE_VERSION)"' \
	-DFTPD_SYSCONFDIR='"$(sysconfdir)"' \
	-DFTPD_SHELL_DIR='"$(shelldir)"' \
	$(EVENT_CFLAGS) $(SSL_CFLAGS) $(CRYPT_CFLAGS) $(PQ_CFLAGS) $(HIREDIS_CFLAGS) $(CFLAGS)
ALL_LIBS = $(EVENT_LIBS) $(SSL_LIBS) $(CRYPT_LIBS) $(PQ_LIBS) $(HIREDIS_LIBS) $(PAM_LIBS) $(LIBS_CONFIGURED)
ALL_LDFLAGS = $(LDFLAGS_CONFIGURED) $(VARIANT_LDFLAGS) $(LDFLAGS)

# Everything but main.c goes into a static library that the unit tests link.
# shells/example and shells/smb are modules of their own, built as shared objects;
# src/ftpload is a program of its own, a client that shares nothing with the server.
LIB_SOURCES  := $(filter-out src/main.c src/ftpload/% shells/example/% shells/smb/%,\
	$(shell find src shells -name '*.c' | LC_ALL=C sort))
LIB_OBJECTS  := $(LIB_SOURCES:%.c=$(BUILD)/%.o)
# The SMB gateway module, built when libsmbclient is there (make check installs it).
include shells/smb/smb.mk
FTPLOAD_SOURCES := $(shell find src/ftpload -name '*.c' | LC_ALL=C sort)
FTPLOAD_OBJECTS := $(FTPLOAD_SOURCES:%.c=$(BUILD)/%.o)
UNIT_SOURCES := $(shell find tests/unit -name '*.c' | LC_ALL=C sort)
# The unit suites test ftpload's LIST line and reply readers too.
UNIT_OBJECTS := $(UNIT_SOURCES:%.c=$(BUILD)/%.o) $(BUILD)/src/ftpload/list_line.o \
	$(BUILD)/src/ftpload/reply_parser.o
# One libFuzzer target per file; build/fuzz/targets/NAME fuzzes with tests/fuzz/corpus/NAME.
FUZZ_SOURCES := $(sort $(wildcard tests/fuzz/*.c))
FUZZ_OBJECTS := $(FUZZ_SOURCES:%.c=$(BUILD)/%.o)
FUZZ_TARGETS := $(FUZZ_SOURCES:tests/fuzz/%.c=$(BUILD)/targets/%)

# A test shell module: the fs shell behind timers, completing everything later.
ASYNC_SHELL_SOURCES := tests/contract/async_shell.c shells/fs/fs.c shells/fs/directory.c \
	shells/fs/resolve.c shells/fs/write_file.c shells/fs/random_access.c
ASYNC_SHELL := $(BUILD)/test-shells/async.so
# The shell contract suite's runner (tests/contract): any module, through the ABI only.
CONTRACT_SOURCES := tests/contract/cases.c tests/contract/driver.c tests/contract/main.c
CONTRACT_OBJECTS := $(CONTRACT_SOURCES:%.c=$(BUILD)/%.o)
CONTRACT_RUNNER := $(BUILD)/contract-tests

FTPD      := $(BUILD)/ftpd
FTPLOAD   := $(BUILD)/ftpload
$(FTPLOAD): $(FTPLOAD_OBJECTS)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EVENT_LIBS) $(SSL_LIBS) $(LIBS_CONFIGURED)

# make check's build with test-only hooks (a worker that misbehaves on purpose); never installed.
FTPD_HOOKS := $(BUILD)/ftpd-test-hooks
LIBFTPD   := $(BUILD)/libftpd.a
UNIT_RUNNER := $(BUILD)/unit-tests

.PHONY: all run check unit integration bench bench-haproxy fuzz fuzz-targets soak install uninstall dist \
	distcheck clean distclean deps test-deps fuzz-deps
.DEFAULT_GOAL := all

all: $(FTPD) $(FTPLOAD)

config.mk: configure config.mk.in
	./configure

configure: configure.ac | deps
	autoconf

deps:
	@build-aux/ensure-deps build

test-deps:
	@build-aux/ensure-deps test

fuzz-deps:
	@build-aux/ensure-deps fuzz

$(BUILD)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(say) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/contract/%.o: tests/contract/%.c config.mk
	@mkdir -p $(dir $@)
	$(say) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

$(CONTRACT_RUNNER): $(CONTRACT_OBJECTS) $(LIBFTPD)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(ALL_LIBS)

$(BUILD)/tests/unit/%.o: tests/unit/%.c config.mk
	@mkdir -p $(dir $@)
	$(say) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $(CHECK_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBFTPD): $(LIB_OBJECTS)
	@rm -f $@
	$(say) "  AR      $@"
	$(Q)ar rcs $@ $^

$(FTPD): $(BUILD)/src/main.o $(LIBFTPD)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(BUILD)/hooks/worker_process.o: src/server/worker_process.c config.mk
	@mkdir -p $(dir $@)
	$(say) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DFTPD_TEST_HOOKS -MMD -MP -c -o $@ $<

# The hooked object comes first, so the archive's own worker_process.o is never pulled in.
$(FTPD_HOOKS): $(BUILD)/src/main.o $(BUILD)/hooks/worker_process.o $(LIBFTPD)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

# Shared objects need position-independent code: their objects are built apart.
$(BUILD)/pic/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(say) "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c -o $@ $<

$(ASYNC_SHELL): $(ASYNC_SHELL_SOURCES:%.c=$(BUILD)/pic/%.o)
	@mkdir -p $(dir $@)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -shared -o $@ $^

$(UNIT_RUNNER): $(UNIT_OBJECTS) $(LIBFTPD)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(ALL_LIBS)

$(BUILD)/targets/%: $(BUILD)/tests/fuzz/%.o $(LIBFTPD)
	@mkdir -p $(dir $@)
	$(say) "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

run: $(FTPD)
	$(FTPD) -f -c conf/run.conf -o listen=$(RUN_LISTEN)

unit: $(UNIT_RUNNER)
	$(UNIT_RUNNER)

integration: $(FTPD) $(FTPD_HOOKS) $(ASYNC_SHELL) $(CONTRACT_RUNNER) $(FTPLOAD) test-deps
	FTPD=$(FTPD) FTPD_HOOKS=$(FTPD_HOOKS) FTPD_ASYNC_SHELL=$(ASYNC_SHELL) \
		FTPD_CONTRACT_TESTS=$(CONTRACT_RUNNER) FTPLOAD=$(FTPLOAD) \
		$(PYTHON) tests/integration/run.py $(TESTS)

bench: $(FTPD) $(FTPLOAD)
	@build-aux/ensure-deps test
	$(PYTHON) tests/bench/table.py --ftpd $(FTPD) --ftpload $(FTPLOAD) $(BENCH_ARGS)

# Sessions/s and 100-client RETR: no balancer, HAProxy with one instance, with two.
bench-haproxy: $(FTPD) $(FTPLOAD)
	@build-aux/ensure-deps test
	$(PYTHON) tests/bench/haproxy.py --ftpd $(FTPD) --ftpload $(FTPLOAD) $(BENCH_ARGS)

# Both builds whatever VARIANT says: ASan finds what the plain build's RSS cannot show.
soak: test-deps
	$(MAKE) VARIANT=asan
	$(MAKE) VARIANT=default
	$(PYTHON) tests/soak/soak.py --seconds $(SOAK_SECONDS) \
		--asan build/asan/ftpd --plain build/default/ftpd $(SOAK_ARGS)

check: test-deps
	$(MAKE) unit
	$(MAKE) integration

fuzz-targets: $(FUZZ_TARGETS)
# Kept, so that relinking a target does not recompile it.
.SECONDARY: $(FUZZ_OBJECTS)

# config.mk first, so that configure never runs with the fuzz build's compiler.
fuzz: fuzz-deps config.mk
	$(MAKE) VARIANT=fuzz CC=$(FUZZ_CC) fuzz-targets
	tests/fuzz/run $(FUZZ_SECONDS) build/fuzz $(FUZZ_SOURCES:tests/fuzz/%.c=build/fuzz/targets/%)

# Installed units and the example config name the installed paths.
unitdir ?= $(prefix)/lib/systemd/system
# PAM and logrotate read only /etc, whatever the prefix; existing files are kept.
pamdir ?= /etc/pam.d
logrotatedir ?= /etc/logrotate.d
INSTALL_PATHS = sed -e 's|/usr/local/sbin|$(sbindir)|g' -e 's|/usr/local/etc|$(sysconfdir)|g' \
	-e 's|/usr/local/lib/ftpd/shells|$(shelldir)|g' \
	-e 's|/usr/local/include|$(includedir)|g'
# ftpd-smb.8 goes with smb.so (install-smb), only where the gateway is built.
MAN_PAGES = $(filter-out man/ftpd-smb.8,$(wildcard man/*.[1-9]))
# The paths as installed, without DESTDIR: pkg-config adds its sysroot itself.
PKG_CONFIG_FILE = sed -e 's|@includedir@|$(includedir)|g' -e 's|@shelldir@|$(shelldir)|g' \
	-e 's|@PACKAGE_VERSION@|$(PACKAGE_VERSION)|g'

install: $(FTPD) $(FTPLOAD)
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(sysconfdir) $(DESTDIR)$(includedir)/ftpd \
		$(DESTDIR)$(unitdir) $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man3 $(DESTDIR)$(mandir)/man5 \
		$(DESTDIR)$(mandir)/man8 $(DESTDIR)$(pamdir) $(DESTDIR)$(logrotatedir) \
		$(DESTDIR)$(pkgconfigdir)
	$(INSTALL) -m 755 $(FTPD) $(DESTDIR)$(sbindir)/ftpd
	$(INSTALL) -m 755 $(FTPLOAD) $(DESTDIR)$(bindir)/ftpload
	test -e $(DESTDIR)$(pamdir)/ftpd || $(INSTALL) -m 644 conf/pam.d/ftpd $(DESTDIR)$(pamdir)/ftpd
	test -e $(DESTDIR)$(logrotatedir)/ftpd || \
		$(INSTALL) -m 644 conf/logrotate.d/ftpd $(DESTDIR)$(logrotatedir)/ftpd
	$(INSTALL) -m 644 include/ftpd/shell.h $(DESTDIR)$(includedir)/ftpd/shell.h
	$(PKG_CONFIG_FILE) include/ftpd/ftpd-shell.pc.in > $(DESTDIR)$(pkgconfigdir)/ftpd-shell.pc
	$(INSTALL_PATHS) conf/ftpd.conf > $(DESTDIR)$(sysconfdir)/ftpd.conf.example
	for unit in conf/systemd/*; do \
		$(INSTALL_PATHS) $$unit > $(DESTDIR)$(unitdir)/$${unit##*/} || exit 1; \
	done
	for page in $(MAN_PAGES); do \
		section=$${page##*.}; \
		$(INSTALL_PATHS) $$page > $(DESTDIR)$(mandir)/man$$section/$${page##*/} || exit 1; \
	done

# The PAM and logrotate files stay, like config files an administrator may have edited.
uninstall:
	rm -f $(DESTDIR)$(sbindir)/ftpd $(DESTDIR)$(bindir)/ftpload $(DESTDIR)$(includedir)/ftpd/shell.h \
		$(DESTDIR)$(sysconfdir)/ftpd.conf.example $(DESTDIR)$(pkgconfigdir)/ftpd-shell.pc
	for unit in conf/systemd/*; do rm -f $(DESTDIR)$(unitdir)/$${unit##*/}; done
	for page in $(MAN_PAGES); do \
		rm -f $(DESTDIR)$(mandir)/man$${page##*.}/$${page##*/}; done

DIST_NAME = ftpd-$(PACKAGE_VERSION)

# The tracked files, as committed: what a clone would build.
dist:
	rm -f $(DIST_NAME).tar.gz
	git archive --format=tar.gz --prefix=$(DIST_NAME)/ -o $(DIST_NAME).tar.gz HEAD
	@echo "wrote $(DIST_NAME).tar.gz"

distcheck: dist
	rm -rf build/distcheck && mkdir -p build/distcheck
	tar -xzf $(DIST_NAME).tar.gz -C build/distcheck
	$(MAKE) -C build/distcheck/$(DIST_NAME) check
	$(MAKE) -C build/distcheck/$(DIST_NAME) install DESTDIR=$(CURDIR)/build/distcheck/root
	test -x build/distcheck/root$(sbindir)/ftpd
	test -x build/distcheck/root$(bindir)/ftpload
	rm -rf build/distcheck
	@echo "$(DIST_NAME).tar.gz builds, passes its tests and installs"

clean:
	rm -rf build

distclean: clean
	rm -rf config.mk config.log config.status configure autom4te.cache ftpd-*.tar.gz

-include $(LIB_OBJECTS:.o=.d) $(UNIT_OBJECTS:.o=.d) $(FUZZ_OBJECTS:.o=.d) $(BUILD)/src/main.d \
	$(BUILD)/hooks/worker_process.d $(ASYNC_SHELL_SOURCES:%.c=$(BUILD)/pic/%.d) \
	$(CONTRACT_OBJECTS:.o=.d) $(FTPLOAD_OBJECTS:.o=.d)
