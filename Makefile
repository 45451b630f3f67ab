# SPDX-License-Identifier: MIT
# appkg: `make` builds libappkg and the tools into build/; `make demo` and `make check` first
# install any missing Debian packages (.ci/install-deps), then build and run.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
VERSION := 0.1.0
SOVERSION := 0

PKGS := libarchive libzstd jansson libsodium libcurl
CC ?= cc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
# `=`, not `:=`: pkg-config runs only when a rule needs it, after the dependencies are in.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
# --as-needed: a tool that makes no registry call does not load libcurl (and the two dozen
# libraries it brings) at start.
PKG_LIBS = -Wl,--as-needed $(shell pkg-config --libs libzstd jansson libsodium libcurl) -lunistring -lpthread
FUSE_CFLAGS = $(shell pkg-config --cflags fuse3)
FUSE_LIBS = $(shell pkg-config --libs fuse3)
# Test builds only: -DAPPKG_CRASH_HOOK compiles in the crash-point hook of format/io.c. `make`
# and `make install` build without it; `make test` builds hooked copies of the tools into
# $(BUILD)/crash/bin for the crash tests (the `crash-tools` target).
HOOK_CFLAGS ?=
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) $(CFLAGS) $(HOOK_CFLAGS) -Iinclude $(PKG_CFLAGS)

LIB_SRC := $(wildcard format/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB_PIC := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
# The tools' shared code as an archive: a tool links only the parts it uses (appkg-pack
# does not take the registry client, so with --as-needed it does not load libcurl).
COMMON_LIB := $(BUILD)/lib/libcommon.a
# Every folder with a main.c is one tool, appkg-FOLDER; mount/ has more files (its own rule).
TOOLS := appkg $(patsubst %/main.c,appkg-%,$(wildcard */main.c))
MOUNT_SRC := $(wildcard mount/*.c)
BINS := $(TOOLS:%=$(BUILD)/bin/%)
# Manual pages (section 1 per tool, section 5 for the format) and the bash completion, which
# bash-completion loads by command name: `make install` links every appkg-* name to it.
MAN1 := $(wildcard man/*.1)
MAN5 := $(wildcard man/*.5)
MANDIR = $(PREFIX)/share/man
COMPLETIONDIR = $(PREFIX)/share/bash-completion/completions
STATIC := $(BUILD)/lib/libappkg.a
SHARED := $(BUILD)/lib/libappkg.so.$(VERSION)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_TOOLS := $(BUILD)/tests/mkvector $(BUILD)/tests/mkhostile $(BUILD)/tests/phtool $(BUILD)/bench/member
CRASH := $(BUILD)/crash

# check-shared: every tool, and the unit programs that need only the public header, built
# against $(SHARED) with -Iinclude and no header of format/ (tests/README.md lists the
# white-box programs that stay static, and why).
SHARED_DIR := $(BUILD)/shared
PUBLIC_UNITS := $(basename $(notdir $(shell grep -L 'format/' tests/unit/test_*.c)))
SHARED_BINS := $(TOOLS:%=$(SHARED_DIR)/bin/%)
SHARED_UNITS := $(PUBLIC_UNITS:%=$(SHARED_DIR)/tests/%)
SHARED_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(WARN) $(CFLAGS) -Iinclude \
	$(shell pkg-config --cflags jansson libsodium)
SHARED_LINK = -L$(BUILD)/lib -Wl,-rpath,$(CURDIR)/$(BUILD)/lib -lappkg -ljansson -lsodium -lzstd -lcurl
SHARED_SOURCES = $(wildcard */main.c common/*.c common/*.h common/front/main.c mount/*.[ch]) \
	$(PUBLIC_UNITS:%=tests/unit/%.c) tests/unit/harness.h tests/unit/pipes.h tests/unit/packages.h

.PHONY: all deps demo check test stress asan valgrind fuzz bench install uninstall clean format check-format \
	crash-tools check-shared test-shared

all: $(STATIC) $(SHARED) $(BINS) $(BUILD)/appkg.pc

$(BUILD)/obj/%.o: %.c $(wildcard include/appkg/*.h format/*.h common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/pic/%.o: %.c $(wildcard include/appkg/*.h format/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(COMMON_LIB): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_PIC)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libappkg.so.$(SOVERSION) -Wl,--version-script=format/libappkg.map $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
	ln -sf libappkg.so.$(VERSION) $(BUILD)/lib/libappkg.so.$(SOVERSION)
	ln -sf libappkg.so.$(SOVERSION) $(BUILD)/lib/libappkg.so

$(BUILD)/bin/appkg-mount: $(MOUNT_SRC) mount/mount.h $(COMMON_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUSE_CFLAGS) -Icommon $(MOUNT_SRC) $(COMMON_LIB) $(STATIC) $(LDFLAGS) $(PKG_LIBS) $(FUSE_LIBS) -o $@

$(BUILD)/bin/appkg-%: %/main.c $(COMMON_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Icommon $< $(COMMON_LIB) $(STATIC) $(LDFLAGS) $(PKG_LIBS) -o $@

$(BUILD)/bin/appkg: common/front/main.c $(COMMON_LIB) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Icommon $< $(COMMON_LIB) $(STATIC) $(LDFLAGS) $(PKG_LIBS) -o $@

$(BUILD)/appkg.pc: appkg.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(BUILD)/tests/%: tests/unit/%.c tests/unit/harness.h tests/unit/pipes.h tests/unit/packages.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit $< $(STATIC) $(LDFLAGS) $(PKG_LIBS) -larchive -o $@

HOSTILE_SRC := tests/tools/hostile_files.c tests/tools/hostile_json.c
$(BUILD)/tests/mkhostile: $(HOSTILE_SRC) tests/tools/hostile.h
$(BUILD)/tests/mkhostile: EXTRA_SRC = $(HOSTILE_SRC)
$(BUILD)/tests/mk%: tests/tools/mk%.c tests/tools/pkgbuild.c tests/tools/pkgbuild.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-field-initializers $< tests/tools/pkgbuild.c $(EXTRA_SRC) $(STATIC) $(LDFLAGS) $(PKG_LIBS) -larchive -o $@

# Placeholder scans and the binding benchmark (tests/cli/test_placeholders.sh, bench/bind.sh).
$(BUILD)/tests/phtool: tests/tools/phtool.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(STATIC) $(LDFLAGS) $(PKG_LIBS) -o $@

$(SHARED_DIR)/bin/appkg-mount: $(MOUNT_SRC) mount/mount.h $(COMMON_SRC) $(wildcard common/*.h) $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(SHARED_CFLAGS) $(FUSE_CFLAGS) -Icommon $(MOUNT_SRC) $(COMMON_SRC) $(LDFLAGS) $(SHARED_LINK) $(FUSE_LIBS) -o $@

$(SHARED_DIR)/bin/appkg-%: %/main.c $(COMMON_SRC) $(wildcard common/*.h) $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(SHARED_CFLAGS) -Icommon $< $(COMMON_SRC) $(LDFLAGS) $(SHARED_LINK) -o $@

$(SHARED_DIR)/bin/appkg: common/front/main.c $(COMMON_SRC) $(wildcard common/*.h) $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(SHARED_CFLAGS) -Icommon $< $(COMMON_SRC) $(LDFLAGS) $(SHARED_LINK) -o $@

$(SHARED_DIR)/tests/%: tests/unit/%.c tests/unit/harness.h tests/unit/pipes.h tests/unit/packages.h $(SHARED)
	@mkdir -p $(dir $@)
	$(CC) $(SHARED_CFLAGS) -Itests/unit $< $(LDFLAGS) $(SHARED_LINK) -o $@

crash-tools:
	@$(MAKE) --no-print-directory BUILD=$(CRASH) HOOK_CFLAGS=-DAPPKG_CRASH_HOOK $(TOOLS:%=$(CRASH)/bin/%)

deps:
	@.ci/install-deps

demo: deps
	@$(MAKE) --no-print-directory all
	@examples/demo.sh $(BUILD)/bin

test: all $(UNIT_BIN) $(TEST_TOOLS) crash-tools
	@tests/run.sh $(BUILD)

check: deps
	@$(MAKE) --no-print-directory test

# make check's suite with the shared-library builds: $(SHARED_DIR) borrows the library, the
# white-box fixture generators and the crash tools of $(BUILD), and holds the rest itself.
test-shared: all $(SHARED_BINS) $(SHARED_UNITS) $(TEST_TOOLS) crash-tools
	@! grep -l '#include.*format/' $(SHARED_SOURCES) || { echo "FAIL: these include a header of format/"; exit 1; }
	@for b in $(SHARED_BINS) $(SHARED_UNITS); do readelf -d $$b | grep -q 'NEEDED.*libappkg\.so' || \
		{ echo "FAIL: $$b is not linked against libappkg.so"; exit 1; }; done
	@ln -sfn ../lib $(SHARED_DIR)/lib && ln -sfn ../crash $(SHARED_DIR)/crash && ln -sfn ../bench $(SHARED_DIR)/bench && \
		ln -sf ../../tests/mkvector ../../tests/mkhostile ../../tests/phtool $(SHARED_DIR)/tests/
	@tests/run.sh $(SHARED_DIR)

check-shared: deps
	@$(MAKE) --no-print-directory test-shared

asan:
	@$(MAKE) --no-print-directory deps
	@APPKG_SANITIZED=1 $(MAKE) --no-print-directory BUILD=build-asan \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test

# The unit programs and every tool the CLI tests run (the `appkg` front's child included;
# not the setuid fusermount3, which valgrind cannot run).
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --trace-children=yes \
	--trace-children-skip=*fusermount3 --suppressions=$(CURDIR)/tests/valgrind.supp
valgrind:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(TEST_TOOLS) crash-tools
	@APPKG_TEST_WRAPPER="$(VALGRIND)" APPKG_TOOL_WRAPPER="$(VALGRIND)" tests/run.sh $(BUILD)

FUZZ_SECONDS ?= 30
# The mount model test with many more operations than `make check` runs.
stress: all
	@APPKG_BIN=$(CURDIR)/$(BUILD)/bin APPKG_TOP=$(CURDIR) MODEL_OPS=$${MODEL_OPS:-50000} \
		sh tests/mount/test_mount_model.sh

fuzz:
	@.ci/install-deps clang libclang-rt-14-dev
	@tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# .ci/install-deps brings archivemount, the mount rows' peer; BENCH_SIZES="S M L" adds L (~600 MB).
bench:
	@.ci/install-deps
	@$(MAKE) --no-print-directory all $(BUILD)/tests/phtool $(BUILD)/bench/member
	@bench/run.sh $(BUILD)/bin $(BUILD)/bench/member
	@bench/bind.sh $(BUILD)/tests/phtool

$(BUILD)/bench/member: bench/member.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(STATIC) $(LDFLAGS) $(PKG_LIBS) -o $@

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/appkg
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libappkg.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libappkg.so.$(SOVERSION)
	ln -sf libappkg.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libappkg.so
	install -m 644 include/appkg/*.h $(DESTDIR)$(PREFIX)/include/appkg/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' appkg.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/appkg.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(COMPLETIONDIR)
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 completion/appkg $(DESTDIR)$(COMPLETIONDIR)/appkg
	for t in $(filter appkg-%,$(TOOLS)); do ln -sf appkg $(DESTDIR)$(COMPLETIONDIR)/$$t; done

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%) $(DESTDIR)$(PREFIX)/lib/libappkg.*
	rm -rf $(DESTDIR)$(PREFIX)/include/appkg $(DESTDIR)$(PREFIX)/lib/pkgconfig/appkg.pc
	rm -f $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%) $(MAN5:man/%=$(DESTDIR)$(MANDIR)/man5/%)
	rm -f $(TOOLS:%=$(DESTDIR)$(COMPLETIONDIR)/%)

clean:
	rm -rf build build-asan

format:
	clang-format -i $(LIB_SRC) format/*.h include/appkg/*.h common/*.[ch] */main.c common/front/main.c tests/unit/*.[ch]

check-format:
	clang-format --dry-run -Werror $(LIB_SRC) format/*.h include/appkg/*.h
