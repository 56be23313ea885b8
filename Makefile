# smtpsend -- hand-written GNU Makefile; no configure step needed.
#
# Knobs (command line, config.mak, or config.mak.autogen from ./configure):
#   CC, CFLAGS, LDFLAGS, PREFIX, DESTDIR, PKG_CONFIG
#   DEVELOPER=1   strict warnings, warnings are errors
#   SANITIZE=1    AddressSanitizer + UndefinedBehaviorSanitizer
#   VALGRIND=1    run the test suite's smtpsend under valgrind (make check)

VERSION    = 0.1.0
CC        ?= cc
CFLAGS    ?= -O2 -g
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
SBINDIR   ?= /usr/sbin
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
PKG_CONFIG ?= pkg-config
BATS      ?= bats

-include config.mak.autogen
-include config.mak

DEPS := gnutls libgsasl libidn2 libmagic
DEPS_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags $(DEPS))
DEPS_LIBS   ?= $(shell $(PKG_CONFIG) --libs $(DEPS))

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DSMTPSEND_VERSION='"$(VERSION)"' \
	     -DSMTPSEND_SYSCONF='"$(SYSCONFDIR)/smtpsend.conf"' \
	     $(DEPS_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS)

ifeq ($(DEVELOPER),1)
ALL_CFLAGS += -Werror -Wall -Wextra -Wpedantic -Wformat=2 -Wshadow \
	      -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wwrite-strings \
	      -Wcast-qual -Wno-format-nonliteral
endif
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	      -fno-sanitize-recover=undefined
ALL_LDFLAGS += -fsanitize=address,undefined
endif

SRCS = src/main.c src/cli.c src/session.c src/smtp.c src/sasl.c src/msg.c \
       src/encode.c src/addr.c src/spool.c src/conn.c src/tls.c src/net.c \
       src/deadline.c src/buf.c src/err.c src/log.c src/xmalloc.c \
       src/creds.c src/secret.c src/netrc.c src/tlscache.c \
       src/config.c src/aliases.c src/report.c \
       src/progress.c src/rewrite.c
# MIME composition: parts, media types, whole-message input, charsets.
SRCS += src/msgread.c src/attach.c src/mimetype.c src/rawmsg.c src/charset.c
# Reliability: queue files, one delivery over an open session, flushing.
SRCS += src/queue.c src/deliver.c src/flush.c
OBJS = $(SRCS:.c=.o)

UNIT_TESTS = tests/unit/test-encode tests/unit/test-smtp tests/unit/test-addr \
	     tests/unit/test-ext tests/unit/test-msg
# Programs the Bats suites run (servers for what Python cannot do).
TEST_HELPERS = tests/helpers/tlsrelay

FAULTSHIM = tests/helpers/faultshim.so
UNIT_LIBOBJS = src/encode.o src/addr.o src/smtp.o src/conn.o src/tls.o \
	       src/buf.o src/err.o src/log.o src/xmalloc.o src/deadline.o \
	       src/msg.o src/msgread.o src/attach.o src/mimetype.o \
	       src/rawmsg.o src/spool.o
UNIT_TESTS += tests/unit/test-rewrite tests/unit/test-queue
UNIT_LIBOBJS += src/aliases.o src/rewrite.o src/net.o src/queue.o

.PHONY: all check check-unit check-bats check-interop check-layers \
	check-banned demo bench bench-small bench-attach install uninstall \
	install-sendmail clean configure lint-man fuzz fuzz-run check-fuzz-replay

all: smtpsend

smtpsend: $(OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJS) $(ALL_LDFLAGS) $(DEPS_LIBS)

# Rebuild everything when the compiler flags change (git's GIT-CFLAGS trick).
FLAGS: FORCE
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > FLAGS.new
	@if cmp -s FLAGS FLAGS.new; then rm FLAGS.new; else mv FLAGS.new FLAGS; fi
FORCE:

src/%.o: src/%.c FLAGS
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests/unit/%.o: tests/unit/%.c FLAGS
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

tests/unit/test-%: tests/unit/test-%.o $(UNIT_LIBOBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(DEPS_LIBS)

check: all check-layers check-banned check-unit check-fuzz-replay check-bats

check-unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done

tests/helpers/%: tests/helpers/%.c FLAGS
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(DEPS_LIBS)

check-bats: all $(TEST_HELPERS) $(FAULTSHIM)
	SMTPSEND=$(CURDIR)/smtpsend VALGRIND=$(VALGRIND) \
	    FAULTSHIM=$(CURDIR)/$(FAULTSHIM) $(BATS) tests/

# The LD_PRELOAD fault injector of the local-fault tests: never built
# with the sanitizers (it must not bring a second runtime along).
$(FAULTSHIM): tests/helpers/faultshim.c
	$(CC) -shared -fPIC -O2 -g -Wall -o $@ $< -ldl

check-interop: all
	SMTPSEND=$(CURDIR)/smtpsend $(BATS) tests/interop/

# Fuzzing with clang's libFuzzer (needs clang and libclang-rt-dev).
#   make fuzz              build tests/fuzz/fuzz-TARGET
#   make fuzz-run          run each for FUZZ_SECONDS from its seed corpus
#                          (tests/fuzz/corpus/TARGET, left untouched)
# make check replays every corpus input (seeds and regression inputs)
# through the same targets built with the ordinary compiler and flags.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 25
FUZZ_TARGETS = reply ehlo addr header queue
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Isrc $(DEPS_CFLAGS) \
	      -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS = $(patsubst %,tests/fuzz/obj/%.o,smtp conn tls deadline buf err \
	    log xmalloc addr encode queue)
FUZZ_BINS = $(FUZZ_TARGETS:%=tests/fuzz/fuzz-%)
FUZZ_REPLAYS = $(FUZZ_TARGETS:%=tests/fuzz/replay-%)

fuzz: $(FUZZ_BINS)

tests/fuzz/obj/%.o: src/%.c
	@mkdir -p tests/fuzz/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

tests/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(DEPS_LIBS)

fuzz-run: fuzz
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

tests/fuzz/%.o: tests/fuzz/%.c FLAGS
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

tests/fuzz/replay-%: tests/fuzz/fuzz-%.o tests/fuzz/replay.o \
		$(UNIT_LIBOBJS) src/queue.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(DEPS_LIBS)

check-fuzz-replay: $(FUZZ_REPLAYS)
	@for t in $(FUZZ_TARGETS); do \
		./tests/fuzz/replay-$$t tests/fuzz/corpus/$$t/* || exit 1; \
	done

# Each third-party header belongs to exactly one module (style rules).
check-layers:
	@bad=0; \
	for pair in 'gnutls/:src/tls.c' 'gsasl.h:src/sasl.c' \
		    'idn2.h:src/addr.c' 'sysexits.h:src/err.c' \
		    'magic.h:src/mimetype.c'; do \
		hdr=$${pair%%:*}; own=$${pair#*:}; \
		for f in $$(grep -l "#include <$$hdr" src/*.c src/*.h); do \
			[ "$$f" = "$$own" ] || { echo "$$f includes $$hdr (only $$own may)"; bad=1; }; \
		done; \
	done; exit $$bad

check-banned:
	@if grep -nE '\<(gets|sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|select)[[:space:]]*\(' src/*.c src/*.h; then \
		echo 'banned function used (see README: style)'; exit 1; fi

lint-man:
	mandoc -Tlint -Wwarning man/smtpsend.1

demo: all
	@sh tests/demo.sh

# Every benchmark of bench/README (about ten minutes; needs root and
# `.ci/deps.sh --bench`).  bench-small: the quick one-message comparison
# against aiosmtpd.
bench: all
	@bash bench/all.sh

bench-small: all
	@bash bench/run.sh

# One 256 MiB attachment to Postfix's smtp-sink: smtpsend vs curl vs msmtp.
bench-attach: all
	@bash bench/attach.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 smtpsend $(DESTDIR)$(BINDIR)/smtpsend
	install -m 644 man/smtpsend.1 $(DESTDIR)$(MANDIR)/man1/smtpsend.1
	install -m 644 completion/smtpsend.bash $(DESTDIR)$(BASHCOMPDIR)/smtpsend
	install -m 644 completion/_smtpsend $(DESTDIR)$(ZSHCOMPDIR)/_smtpsend

# Not part of install: replacing the system's sendmail is a decision.
install-sendmail: install
	install -d $(DESTDIR)$(SBINDIR)
	ln -sf $(BINDIR)/smtpsend $(DESTDIR)$(SBINDIR)/sendmail

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/smtpsend $(DESTDIR)$(MANDIR)/man1/smtpsend.1 \
	      $(DESTDIR)$(BASHCOMPDIR)/smtpsend $(DESTDIR)$(ZSHCOMPDIR)/_smtpsend
	if [ "$$(readlink $(DESTDIR)$(SBINDIR)/sendmail)" = $(BINDIR)/smtpsend ]; then \
		rm -f $(DESTDIR)$(SBINDIR)/sendmail; fi

configure: configure.ac
	autoconf -o $@ $<

clean:
	rm -f smtpsend $(OBJS) $(OBJS:.o=.d) FLAGS FLAGS.new \
	      $(UNIT_TESTS) tests/unit/*.o tests/unit/*.d $(FAULTSHIM) \
	      $(TEST_HELPERS) tests/helpers/*.d \
	      $(FUZZ_BINS) $(FUZZ_REPLAYS) tests/fuzz/*.o tests/fuzz/*.d
	rm -rf tests/fuzz/obj

-include $(OBJS:.o=.d) $(TEST_HELPERS:=.d)
