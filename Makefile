# qa: one plain (GNU) Makefile.  make; make test; make demo; make bench; make install.

.SUFFIXES:

include config.mk

# BUILD=dir keeps several builds apart (parallel work, other compilers).
ifeq ($(SANITIZE),)
BUILD ?= build
SANFLAGS =
else
BUILD ?= build-san
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

PKGS = libpcre2-8 libutf8proc libcurl inih
# The response cache (lib/cache.c): SQLite for the store, libcrypto for SHA-256.
PKGS += sqlite3 libcrypto
QA_CFLAGS = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -D_GNU_SOURCE \
	-Ilib -Iinclude -DQA_PLUGINDIR='"$(PLUGINDIR)"' $(SANFLAGS)
ALL_CFLAGS = $(QA_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null) $(CFLAGS)
ALL_LDFLAGS = -Wl,--as-needed $(SANFLAGS) $(LDFLAGS)
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lcsv -ldl -lm -lpthread
PLUGIN_CFLAGS = -std=c11 -Wall -Wextra -Werror -Wshadow -D_GNU_SOURCE -Iinclude -fPIC $(SANFLAGS) $(CFLAGS)

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:lib/%.c=$(BUILD)/obj/%.o)
# Every tools/qa-*.c is a tool, every plugins/*/*.c a plugin, every tests/unit/test_*.c a unit test.
TOOLS = $(patsubst tools/%.c,%,$(wildcard tools/qa-*.c))
# A large tool is a folder, tools/qa-NAME/*.c with a private header (any *.h there).
DIR_TOOLS = $(patsubst tools/%/,%,$(wildcard tools/qa-*/))
TOOLS += $(DIR_TOOLS)
SCORERS = $(patsubst plugins/scorers/%.c,%,$(wildcard plugins/scorers/*.c))
PROVIDERS = $(patsubst plugins/providers/%.c,%,$(wildcard plugins/providers/*.c))
# chrf.c and rouge.c serve several names (see their rules below).
SUMM_LINKS = chrfpp rouge1 rouge2 rougeL rougeLsum
# squad.c serves two names: squad_em.so is built, squad_f1.so links to it.
SCORER_SO = $(patsubst %,$(BUILD)/lib/qa/plugins/%.so,$(filter-out squad rouge,$(SCORERS)) \
	$(if $(filter squad,$(SCORERS)),squad_em squad_f1) $(SUMM_LINKS))
PROVIDER_SO = $(PROVIDERS:%=$(BUILD)/lib/qa/plugins/%.so)
UNIT = $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))

BINS = $(TOOLS:%=$(BUILD)/bin/%)
UNIT_BINS = $(UNIT:%=$(BUILD)/tests/%)

all: $(BINS) $(SCORER_SO) $(PROVIDER_SO) $(BUILD)/qa-plugin.pc

# The install paths are compiled in: a build for another PREFIX is a new build.
$(BUILD)/prefix: FORCE
	@mkdir -p $(@D)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@

$(BUILD)/obj/%.o: lib/%.c lib/qa.h include/qa/plugin.h config.mk $(BUILD)/prefix
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libqa.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(BUILD)/bin/%: tools/%.c $(BUILD)/libqa.a $(BUILD)/prefix
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libqa.a $(ALL_LDFLAGS) $(LIBS)

# A folder tool's files compile one by one into $(BUILD)/obj/qa-NAME/, so a
# unit test can link the tool's objects (all but main.o).
define dir_tool
$(BUILD)/obj/$(1)/%.o: tools/$(1)/%.c $(wildcard tools/$(1)/*.h) lib/qa.h lib/html.h config.mk $(BUILD)/prefix
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) -MMD -MP -Itools/$(1) -c -o $$@ $$<
$(1)_OBJ = $(patsubst tools/$(1)/%.c,$(BUILD)/obj/$(1)/%.o,$(wildcard tools/$(1)/*.c))
$(BUILD)/bin/$(1): $$($(1)_OBJ) $(BUILD)/libqa.a
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) -o $$@ $$($(1)_OBJ) $(BUILD)/libqa.a $$(ALL_LDFLAGS) $$(LIBS)
endef
$(foreach t,$(DIR_TOOLS),$(eval $(call dir_tool,$(t))))
# Every object also depends on the headers it includes (-MMD), lib's own
# (cache.h, sse.h, pace.h, ...) included: a changed struct rebuilds its users.
-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/*/*.d)

$(BUILD)/lib/qa/plugins/%.so: plugins/scorers/%.c include/qa/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $< $(ALL_LDFLAGS)

$(BUILD)/lib/qa/plugins/%.so: plugins/providers/%.c include/qa/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $< $(ALL_LDFLAGS)

# The mock provider is a folder by concern with a private header
# (plugins/providers/mock/mock.h), built into one mock.so.
MOCK_SRC = $(wildcard plugins/providers/mock/*.c)
PROVIDER_SO += $(BUILD)/lib/qa/plugins/mock.so
all: $(BUILD)/lib/qa/plugins/mock.so
$(BUILD)/lib/qa/plugins/mock.so: $(MOCK_SRC) plugins/providers/mock/mock.h include/qa/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $(MOCK_SRC) $(ALL_LDFLAGS)

$(BUILD)/lib/qa/plugins/squad_em.so: plugins/scorers/squad.c include/qa/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ plugins/scorers/squad.c $(ALL_LDFLAGS)

$(BUILD)/lib/qa/plugins/squad_f1.so: $(BUILD)/lib/qa/plugins/squad_em.so
	ln -sf squad_em.so $@

# The openai provider is a folder by concern with a private header
# (plugins/providers/openai/openai.h), built into one openai.so; it serves
# openai and openai-completions (a link to it).
OPENAI_SRC = $(wildcard plugins/providers/openai/*.c)
PROVIDER_SO += $(BUILD)/lib/qa/plugins/openai.so $(BUILD)/lib/qa/plugins/openai-completions.so
all: $(BUILD)/lib/qa/plugins/openai.so $(BUILD)/lib/qa/plugins/openai-completions.so
$(BUILD)/lib/qa/plugins/openai.so: $(OPENAI_SRC) plugins/providers/openai/openai.h include/qa/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $(OPENAI_SRC) $(ALL_LDFLAGS)

$(BUILD)/lib/qa/plugins/openai-completions.so: $(BUILD)/lib/qa/plugins/openai.so
	ln -sf openai.so $@

# Summarization scorers.  chrf.c serves chrf and chrfpp; rouge.c serves
# rouge1, rouge2, rougeL and rougeLsum, with NLTK's Porter stemmer
# (plugins/scorers/porter/, not a plugin of its own) compiled in.
PORTER = plugins/scorers/porter/porter.c plugins/scorers/porter/porter.h

$(BUILD)/lib/qa/plugins/chrfpp.so: $(BUILD)/lib/qa/plugins/chrf.so
	ln -sf chrf.so $@

$(BUILD)/lib/qa/plugins/rouge1.so: plugins/scorers/rouge.c $(PORTER) include/qa/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -Iplugins/scorers/porter -shared -o $@ plugins/scorers/rouge.c \
	    plugins/scorers/porter/porter.c $(ALL_LDFLAGS)

$(BUILD)/lib/qa/plugins/rouge2.so $(BUILD)/lib/qa/plugins/rougeL.so \
$(BUILD)/lib/qa/plugins/rougeLsum.so: $(BUILD)/lib/qa/plugins/rouge1.so
	ln -sf rouge1.so $@

# The n-gram ids bleu, chrf and rouge share (included, not a plugin).
$(BUILD)/lib/qa/plugins/bleu.so $(BUILD)/lib/qa/plugins/chrf.so \
$(BUILD)/lib/qa/plugins/rouge1.so: plugins/scorers/ngram.h
# bleu's intl tokenizer reads Unicode categories from utf8proc.
$(BUILD)/lib/qa/plugins/bleu.so: ALL_LDFLAGS += -lutf8proc
# bleu's sacreBLEU tokenizers (included, not a plugin).
$(BUILD)/lib/qa/plugins/bleu.so: plugins/scorers/tokenize.h

# tests/14-porter.bats: the stemmer alone, word by word against python3-nltk.
unit: $(BUILD)/tests/porter-stem
$(BUILD)/tests/porter-stem: tests/porter/stem.c $(PORTER)
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -Iplugins/scorers/porter -o $@ tests/porter/stem.c \
	    plugins/scorers/porter/porter.c $(ALL_LDFLAGS)

# Streaming (issue 18): lib/sse, lib/latency, and a driver running them
# with the openai provider's stream() on stdin for tests/57-stream.bats.
STREAM_H = lib/sse.h lib/latency.h
$(BUILD)/obj/sse.o $(BUILD)/obj/latency.o: $(STREAM_H)
$(BUILD)/tests/test_sse $(BUILD)/tests/test_latency $(BUILD)/tests/test_openai_stream: $(STREAM_H)
unit: $(BUILD)/tests/sse-reply
$(BUILD)/tests/sse-reply: tests/stream/sse-reply.c $(STREAM_H) $(BUILD)/libqa.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ tests/stream/sse-reply.c $(BUILD)/libqa.a $(ALL_LDFLAGS) $(LIBS)

# tests/unit/test_send.c links qa-send's own objects (all but main.o): its
# decisions are tested exactly, not timed against a server.
$(BUILD)/tests/test_send: tests/unit/test_send.c tests/unit/t.h $(filter-out %/main.o,$(qa-send_OBJ)) \
		$(wildcard tools/qa-send/*.h) $(BUILD)/libqa.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itools/qa-send -o $@ $< $(filter %.o,$^) $(BUILD)/libqa.a \
	    $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/t.h $(BUILD)/libqa.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libqa.a $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/qa-plugin.pc: qa-plugin.pc.in config.mk $(BUILD)/prefix
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@PLUGINDIR@|$(PLUGINDIR)|' -e 's|@VERSION@|$(VERSION)|' qa-plugin.pc.in > $@

# Installs the Debian packages in apt-packages.txt that are missing (as root),
# or prints the apt-get line that would.
deps:
	@missing=$$(for p in $$(grep -v '^#' apt-packages.txt); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done | tr '\n' ' '); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	    echo "qa needs these Debian packages; as root, run:"; \
	    echo "  apt-get install -y $$missing"; exit 2; \
	fi

# ---- fuzzing: AFL++ targets in tests/fuzz/ ----
# make test replays their seeds and regressions with the plain build; make fuzz
# builds everything again with afl-cc (in $(BUILD)-afl, SANITIZE applies) and
# runs each target FUZZ_SECONDS.
FUZZ = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS = $(FUZZ:%=$(BUILD)/tests/%)
FUZZ_SECONDS ?= 60
AFL_CC ?= afl-cc

$(BUILD)/tests/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/libqa.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libqa.a $(ALL_LDFLAGS) $(LIBS)

# fuzz_options includes qa-score's main.c (its main() renamed) and links the rest of its objects.
QA_SCORE_LIB_OBJ = $(filter-out %/main.o,$(qa-score_OBJ))
$(BUILD)/tests/fuzz_options: tests/fuzz/fuzz_options.c tests/fuzz/fuzz.h tools/qa-score/main.c \
		tools/qa-score/qa-score.h $(QA_SCORE_LIB_OBJ) $(BUILD)/libqa.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(QA_SCORE_LIB_OBJ) $(BUILD)/libqa.a $(ALL_LDFLAGS) $(LIBS)

unit: $(UNIT_BINS) $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)-afl CC=$(AFL_CC) all $(FUZZ:%=$(BUILD)-afl/tests/%)
	@tests/fuzz/run $(abspath $(BUILD))-afl $(FUZZ_SECONDS)

# llama.cpp, pinned (build-aux/llama.sh): llama-server, llama-quantize and
# llama-perplexity for the real-server tests, and libllama, which a build
# finds through `pkg-config llama`.  Built once per machine into the cache;
# make test runs it, make demo does not.
# Tests give each run its own XDG_CACHE_HOME; the machine's cache is then
# QA_MACHINE_CACHE (tests/test_helper.bash).
LLAMA_PREFIX := $(shell XDG_CACHE_HOME="$${QA_MACHINE_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}}" build-aux/llama.sh --prefix)
export PKG_CONFIG_PATH := $(LLAMA_PREFIX)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
llama: deps
	@build-aux/llama.sh >/dev/null

# The in-process llama engine (issue 17; plugins/providers/llama/, not a
# plugin of its own: the llama provider will link it), built when
# `pkg-config llama` finds libllama, and its test driver.  Make 4.3 does not
# pass exported variables to $(shell), hence the explicit PKG_CONFIG_PATH.
LLAMA_PC = PKG_CONFIG_PATH='$(PKG_CONFIG_PATH)' $(PKG_CONFIG)
ifeq ($(shell $(LLAMA_PC) --exists llama && echo yes),yes)
LLAMA_CFLAGS := $(shell $(LLAMA_PC) --cflags llama)
LLAMA_LIBS := $(shell $(LLAMA_PC) --libs llama) \
	-Wl,--disable-new-dtags,-rpath,$(shell $(LLAMA_PC) --variable=libdir llama) -lm -lpthread
LLAMA_ENGINE = plugins/providers/llama/engine.c plugins/providers/llama/engine.h
unit: $(BUILD)/tests/llama-ppl
$(BUILD)/obj/llama-engine.o: $(LLAMA_ENGINE)
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) $(LLAMA_CFLAGS) -c -o $@ $<
$(BUILD)/tests/llama-ppl: tests/llama/llama-ppl.c $(BUILD)/obj/llama-engine.o
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -Iplugins/providers/llama -o $@ $< $(BUILD)/obj/llama-engine.o \
	    $(ALL_LDFLAGS) $(LLAMA_LIBS)
# The llama provider plugin: the engine linked in, so qa-send needs no libllama.
# PROVIDER_SO: install and uninstall take it too.
PROVIDER_SO += $(BUILD)/lib/qa/plugins/llama.so
all: $(BUILD)/lib/qa/plugins/llama.so
$(BUILD)/lib/qa/plugins/llama.so: plugins/providers/llama/llama.c $(BUILD)/obj/llama-engine.o include/qa/plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -Iplugins/providers/llama -shared -o $@ $< $(BUILD)/obj/llama-engine.o \
	    $(ALL_LDFLAGS) $(LLAMA_LIBS)
else
$(info llama: `pkg-config llama` finds no libllama (make llama, or set PKG_CONFIG_PATH): the llama engine is not built)
endif

test: deps llama
	@$(MAKE) --no-print-directory all unit
	@QA_BUILD=$(BUILD) tests/run

demo: deps
	@$(MAKE) --no-print-directory all
	@QA_BUILD=$(BUILD) pipelines/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@QA_BUILD=$(BUILD) bench/run

PIPELINE_FILES = pipelines/qa.mk pipelines/assess.mk pipelines/migrate.mk pipelines/report pipelines/ramp-row

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(INCLUDEDIR)/qa \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DATADIR)
	cp $(BINS) $(DESTDIR)$(BINDIR)/
	cp -P $(BUILD)/lib/qa/plugins/*.so $(DESTDIR)$(PLUGINDIR)/
	cp include/qa/plugin.h $(DESTDIR)$(INCLUDEDIR)/qa/
	cp $(BUILD)/qa-plugin.pc $(DESTDIR)$(PKGCONFIGDIR)/
	cp man/*.1 $(DESTDIR)$(MANDIR)/man1/
	cp man/*.7 $(DESTDIR)$(MANDIR)/man7/
	cp pipelines/prices.csv $(DESTDIR)$(DATADIR)/
	# The pipelines, runnable from there: make -f $(DATADIR)/pipelines/assess.mk ...
	mkdir -p $(DESTDIR)$(DATADIR)/pipelines/tasks
	cp $(PIPELINE_FILES) $(DESTDIR)$(DATADIR)/pipelines/
	cp pipelines/tasks/*.jsonl pipelines/tasks/README $(DESTDIR)$(DATADIR)/pipelines/tasks/

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	# Only what we installed: users keep their own plugins in the same directory.
	for p in $(notdir $(SCORER_SO) $(PROVIDER_SO)); do rm -f $(DESTDIR)$(PLUGINDIR)/$$p; done
	-rmdir $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(LIBDIR)/qa 2>/dev/null
	rm -f $(DESTDIR)$(INCLUDEDIR)/qa/plugin.h
	-rmdir $(DESTDIR)$(INCLUDEDIR)/qa 2>/dev/null
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/qa-plugin.pc
	for m in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	for m in man/*.7; do rm -f $(DESTDIR)$(MANDIR)/man7/$${m#man/}; done
	rm -f $(DESTDIR)$(DATADIR)/prices.csv
	for f in $(notdir $(PIPELINE_FILES)); do rm -f $(DESTDIR)$(DATADIR)/pipelines/$$f; done
	for f in pipelines/tasks/*.jsonl pipelines/tasks/README; do rm -f $(DESTDIR)$(DATADIR)/$$f; done
	-rmdir $(DESTDIR)$(DATADIR)/pipelines/tasks $(DESTDIR)$(DATADIR)/pipelines 2>/dev/null
	-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null

clean:
	rm -rf build build-san build-afl build-san-afl

# The response cache's own header, which lib/qa.h does not cover.
$(BUILD)/obj/cache.o $(BUILD)/bin/qa-cache $(BUILD)/tests/test_cache: lib/cache.h

.PHONY: all deps unit llama test demo bench install uninstall clean fuzz FORCE
