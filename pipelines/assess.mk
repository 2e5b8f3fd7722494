# The assessment a team runs before swapping a model: the battery sent to
# both endpoints, scored, priced, perplexity measured, compared, gated, and
# written up.
#
#   make -f pipelines/assess.mk BASELINE=ep1 CANDIDATE=ep2 [TASKS=files]
#        [CONFIG=endpoints.conf] [PRICES=prices.csv] [NAME=ep1-vs-ep2]
#        [MAX_DROP=0.02] [GATE_ON=ci] [GATE_FLAGS=...] [MONTHLY=1000000]
#        [PERPLEXITY=yes] [PPL_BASELINE=ep] [PPL_CANDIDATE=ep]
#        [DECODE='temperature=0 seed=1'] [SEND_FLAGS=...] [SCORE_FLAGS=...]
#        [REPEAT=N]
#   make -f pipelines/assess.mk BASELINE_GGUF=a.gguf CANDIDATE_GGUF=b.gguf ...   (below)
#
# Everything lands in runs/NAME/:
#   ENDPOINT.sent.jsonl, ENDPOINT.scored.jsonl   the raw records; scored and priced
#   ENDPOINT.summary.json / .txt                 accuracy per task (qa-score)
#   ppl-baseline.jsonl, ppl-candidate.jsonl      prompt logprobs, scored
#   ppl.summary.json                             corpus perplexities
#   drift.json / drift.txt                       qa-diff of the logprob runs
#   diff.json / diff.txt, gate.txt, gate.status  qa-diff of the answers
#   cost.json / cost.md                          qa-cost, savings at MONTHLY
#   report.md                                    all of it, one screen
#   report.html                                  all of it as one page to share (qa-report)
# Both sides decode greedily (DECODE, default temperature=0 seed=1: qa-send
# --param defaults, a record's own params win); report.md says what was used.
# Make's dependencies mean a re-run redoes only what changed: edit the
# config, and only the sends (and what follows them) run again.
#
# Perplexity needs prompt logprobs, which only completions-style endpoints
# give (openai-completions, vLLM, mock; not chat endpoints, not llama.cpp's
# server).  PPL_BASELINE/PPL_CANDIDATE name such endpoints when the chat
# endpoints cannot; PERPLEXITY=no leaves it out.
#
# The gate: the `gate` goal (part of the default) fails when qa-diff's gate
# fails, after the report is written, so `make` exits non-zero.

# Two GGUF files as the two sides, no servers: the llama provider runs
# each in the process (qa-send --provider llama), the perplexity run of the
# candidate carries its exact drift against the baseline (--kl-base).
#
#   make -f pipelines/assess.mk BASELINE_GGUF=f16.gguf CANDIDATE_GGUF=q4.gguf
#        [LLAMA_THREADS=N] [BASELINE_PER_MTOK='in out'] [CANDIDATE_PER_MTOK='in out']
#
# The sides are named after the files (BASELINE and CANDIDATE may name them
# otherwise); the endpoints are written to runs/NAME/gguf.conf, which is
# then the CONFIG (a CONFIG given is not read).  *_PER_MTOK price a side,
# input and output per million tokens, for cost per correct answer.
# Decoding is greedy with at most max_tokens=256 (DECODE), since a GGUF
# model otherwise generates to the end of its context; the response cache
# is off, since a file rewritten in place keeps its name.
BASELINE_GGUF ?=
CANDIDATE_GGUF ?=
ifneq ($(strip $(BASELINE_GGUF)$(CANDIDATE_GGUF)),)
ifeq ($(and $(strip $(BASELINE_GGUF)),$(strip $(CANDIDATE_GGUF))),)
$(error BASELINE_GGUF and CANDIDATE_GGUF go together: make -f $(firstword $(MAKEFILE_LIST)) BASELINE_GGUF=a.gguf CANDIDATE_GGUF=b.gguf)
endif
BASELINE ?= $(basename $(notdir $(BASELINE_GGUF)))
CANDIDATE ?= $(basename $(notdir $(CANDIDATE_GGUF)))
ifeq ($(BASELINE),$(CANDIDATE))
$(error both GGUF files are named $(BASELINE): name the sides with BASELINE=name CANDIDATE=name)
endif
override CONFIG = $(R)/gguf.conf
PPL_CANDIDATE ?= $(CANDIDATE)-kl
DECODE ?= temperature=0 max_tokens=256
endif

include $(dir $(lastword $(MAKEFILE_LIST)))qa.mk

ifneq ($(strip $(BASELINE_GGUF)),)
# gguf.conf is rewritten only when it changes (as decoding.txt), so make -n stays true.
gguf_price = $(if $(strip $(1)),input_per_mtok = $(word 1,$(1))$(nl)output_per_mtok = $(word 2,$(1))$(nl))
gguf_threads = $(if $(strip $(LLAMA_THREADS)),threads = $(LLAMA_THREADS)$(nl))
define nl


endef
define GGUF_CONF
[$(BASELINE)]
provider = llama
model = $(abspath $(BASELINE_GGUF))
$(gguf_threads)$(call gguf_price,$(BASELINE_PER_MTOK))
[$(CANDIDATE)]
provider = llama
model = $(abspath $(CANDIDATE_GGUF))
$(gguf_threads)$(call gguf_price,$(CANDIDATE_PER_MTOK))
[$(PPL_CANDIDATE)]
provider = llama
model = $(abspath $(CANDIDATE_GGUF))
kl_base = $(abspath $(BASELINE_GGUF))
$(gguf_threads)
endef
$(file >$(R)/gguf.conf.new,$(GGUF_CONF))
GGUF_SET := $(shell cmp -s '$(R)/gguf.conf.new' '$(R)/gguf.conf' && rm -f '$(R)/gguf.conf.new' || \
	mv -f '$(R)/gguf.conf.new' '$(R)/gguf.conf')
override SEND_FLAGS += $(if $(shell $(QA_BIN)qa-send --help 2>/dev/null | grep -e '--cache-mode'),--cache-mode off)
# A model file rewritten in place sends again.
$(R)/$(BASELINE).sent.jsonl $(R)/ppl-baseline.jsonl: $(BASELINE_GGUF)
$(R)/$(CANDIDATE).sent.jsonl $(R)/ppl-candidate.jsonl: $(CANDIDATE_GGUF) $(BASELINE_GGUF)
endif

MAX_DROP ?= 0.02
GATE_ON ?= ci
GATE_FLAGS ?=
MONTHLY ?= 1000000
PERPLEXITY ?= yes
PPL_BASELINE ?= $(BASELINE)
PPL_CANDIDATE ?= $(CANDIDATE)
LOGPROBS_FLAGS ?= --mode logprobs

.DEFAULT_GOAL := all
all: report gate
report: $(R)/report.md $(R)/report.html
	@cat $<
gate: $(R)/gate.status
	@exit $$(cat $<)
.PHONY: all report gate

RUNS_OF = $(R)/$(BASELINE).scored.jsonl $(R)/$(CANDIDATE).scored.jsonl

$(R)/%.summary.json: $(R)/%.sent.jsonl $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-score --summary $(SCORE_FLAGS) $< > $@)
$(R)/%.summary.txt: $(R)/%.sent.jsonl $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-score --summary --format table $(SCORE_FLAGS) $< > $@)

# Perplexity over the battery's own prompts: each prompt's logprobs, as the
# endpoint scores its own input.
$(R)/ppl-texts.jsonl: $(R)/tasks.jsonl
	jq -c '{id, task: (.task // .name), prompt}' $< > $@
$(R)/ppl-baseline.jsonl: $(R)/ppl-texts.jsonl $(CONFIG) $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-send -q --endpoint $(PPL_BASELINE) $(LOGPROBS_FLAGS) $(SEND_FLAGS) $< | \
		$(QA_BIN)qa-score --metric perplexity > $@)
$(R)/ppl-candidate.jsonl: $(R)/ppl-texts.jsonl $(CONFIG) $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-send -q --endpoint $(PPL_CANDIDATE) $(LOGPROBS_FLAGS) $(SEND_FLAGS) $< | \
		$(QA_BIN)qa-score --metric perplexity > $@)
$(R)/ppl.summary.json: $(R)/ppl-baseline.jsonl $(R)/ppl-candidate.jsonl
	for side in baseline candidate; do \
		$(call data,$(QA_BIN)qa-score --metric perplexity --summary $(R)/ppl-$$side.jsonl) | \
			jq -c --arg side $$side 'select(.scope == "overall") | .side = $$side'; \
	done > $@
$(R)/drift.json: $(R)/ppl-baseline.jsonl $(R)/ppl-candidate.jsonl
	$(call data,$(QA_BIN)qa-diff $^ > $@ 2> $(R)/drift.err)
$(R)/drift.txt: $(R)/ppl-baseline.jsonl $(R)/ppl-candidate.jsonl
	$(call data,$(QA_BIN)qa-diff --format table $^ > $@ 2> /dev/null)

# The noise floor: REPEAT=N sends the baseline and the candidate N times in
# all, the repeats as ENDPOINT.repeat-K.sent.jsonl (K = 2..N), and qa-diff
# --noise measures the baseline's flips against its first repeat: the floor
# under the candidate's (GATE_FLAGS='--max-excess-flips 3' gates on the
# excess).  With the repeats of both sides (--noise, --candidate-repeat),
# qa-diff also gives per-item agreement and the paired test over items of
# the runs' accuracy, which --max-drop then reads.  A repeat must ask the
# server again: when this qa-send has a response cache (its --help lists
# --cache-mode), the repeats are sent with --cache-mode refresh, checked
# when they are sent.
REPEAT ?= 1
REPEATS := $(if $(filter-out 0 1,$(REPEAT)),$(shell seq 2 $(REPEAT)))
NOISE_OF := $(foreach e,$(BASELINE) $(CANDIDATE),$(foreach k,$(REPEATS),$(R)/$(e).repeat-$(k).scored.jsonl))
NOISE_FLAGS := $(foreach k,$(REPEATS),--noise $(R)/$(BASELINE).repeat-$(k).scored.jsonl \
	--candidate-repeat $(R)/$(CANDIDATE).repeat-$(k).scored.jsonl)
REFRESH = $(if $(shell $(QA_BIN)qa-send --help 2>/dev/null | grep -e '--cache-mode'),--cache-mode refresh)
$(R)/$(BASELINE).repeat-%.sent.jsonl: $(R)/tasks.jsonl $(R)/decoding.txt $(CONFIG) $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-send -q --endpoint $(BASELINE) $(DECODE_FLAGS) $(SEND_FLAGS) $(REFRESH) $< > $@)
$(R)/$(CANDIDATE).repeat-%.sent.jsonl: $(R)/tasks.jsonl $(R)/decoding.txt $(CONFIG) $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-send -q --endpoint $(CANDIDATE) $(DECODE_FLAGS) $(SEND_FLAGS) $(REFRESH) $< > $@)
.PRECIOUS: $(R)/$(BASELINE).repeat-%.sent.jsonl $(R)/$(CANDIDATE).repeat-%.sent.jsonl
repeats: $(NOISE_OF)
.PHONY: repeats

# The comparison and its gate.  qa-diff exits 1 when the gate fails: the
# status is kept for the gate goal, so the report is written either way.
GATE = --gate-on $(GATE_ON) --max-drop $(MAX_DROP) $(GATE_FLAGS)
$(R)/diff.json: $(RUNS_OF) $(NOISE_OF) | repeats
	status=0; $(QA_BIN)qa-diff $(GATE) $(NOISE_FLAGS) $(RUNS_OF) > $@ 2> $(R)/gate.txt || status=$$?; \
	[ $$status -le 1 ] || { cat $(R)/gate.txt >&2; exit $$status; }; \
	echo $$status > $(R)/gate.status
$(R)/gate.status: $(R)/diff.json
$(R)/diff.txt: $(RUNS_OF) $(NOISE_OF)
	$(call data,$(QA_BIN)qa-diff --format table $(GATE) $(NOISE_FLAGS) $(RUNS_OF) > $@ 2> /dev/null)

$(R)/cost.json: $(RUNS_OF) $(CONFIG) $(PRICES)
	$(call data,cat $(RUNS_OF) | $(QA_BIN)qa-cost --summary --baseline $(BASELINE) \
		--monthly-tasks $(MONTHLY) > $@ 2> $(R)/cost.err)
$(R)/cost.md: $(RUNS_OF) $(CONFIG) $(PRICES)
	$(call data,cat $(RUNS_OF) | $(QA_BIN)qa-cost --summary --format md --baseline $(BASELINE) \
		--monthly-tasks $(MONTHLY) > $@ 2> /dev/null)

REPORT_IN = $(R)/diff.json $(R)/cost.json $(R)/cost.md $(R)/diff.txt $(R)/decoding.txt \
	$(foreach e,$(BASELINE) $(CANDIDATE),$(R)/$(e).summary.txt $(R)/$(e).summary.json)
ifeq ($(PERPLEXITY),yes)
REPORT_IN += $(R)/ppl.summary.json $(R)/drift.json $(R)/drift.txt
endif
# migrate.mk, run with the same NAME, leaves its ramp table here too.
$(R)/report.md: $(REPORT_IN) $(wildcard $(R)/ramp.txt) $(QA_ROOT)/pipelines/report
	$(QA_ROOT)/pipelines/report $(R) '$(BASELINE)' '$(CANDIDATE)' > $@

# The same as one self-contained page, for the people who decide: charts,
# every flipped answer, the ramp when migrate.mk left one.
$(R)/report.html: $(REPORT_IN) $(wildcard $(R)/stage-*.row) $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-report -b '$(BASELINE)' -c '$(CANDIDATE)' --max-drop $(MAX_DROP) -o $@ $(R))
