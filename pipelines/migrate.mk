# A migration, stage by stage: move traffic from BASELINE to CANDIDATE along
# PLAN (the candidate's weight in percent at each stage), with sticky cohorts
# (qa-route), fallback to the baseline (qa-send), and a quality gate
# (qa-diff) that must hold before the next stage starts.  A failing gate
# rolls back to stage 0 (everything on the baseline) and stops the run.
#
#   make -f pipelines/migrate.mk BASELINE=old CANDIDATE=new [PLAN=10,30,60,100]
#        [TASKS=files] [CONFIG=endpoints.conf] [PRICES=prices.csv] [NAME=...]
#        [MAX_DROP=0.05] [MAX_ERRORS=1] [GATE_ON=point] [GATE_FLAGS=...] [SALT=qa]
#        [DECODE='temperature=0 seed=1']
#
# Each stage routes the whole battery (the stand-in for a window of live
# traffic), sends it, scores it, and compares the candidate's share with
# the baseline's answers to the same items (a full baseline run, made
# once).  Everything lands in runs/NAME/: stage-K.jsonl (the records),
# stage-K.diff.json and stage-K.gate.txt (qa-diff), stage-K.cost.json
# (qa-cost), and ramp.txt, the table:
#
#   stage, weight, requests per endpoint, accuracy per endpoint, p95
#   latency, errors, fallbacks, cost, decision
#
# The recipe that finds a failing gate exits 1 after the rollback, so make
# reports "Error 1" and exits non-zero.  Re-running redoes only what
# changed (the config, the battery, the tools); to start over after a
# rollback, remove runs/NAME or pick another NAME.
#
# Every stage and the baseline decode greedily (DECODE, as in assess.mk).
#
# The gate reads the point estimate by default: a stage's share of a
# 300-item battery is 30 to 200 items, and a 95% CI over 30 items is about
# +-12 points wide, so a CI gate (GATE_ON=ci) would stop every ramp there.
# With thousands of items per stage, use GATE_ON=ci.

include $(dir $(lastword $(MAKEFILE_LIST)))qa.mk

PLAN ?= 10,30,60,100
MAX_DROP ?= 0.05
MAX_ERRORS ?= 1
GATE_ON ?= point
GATE_FLAGS ?=
SALT ?= qa

comma := ,
WEIGHTS := $(subst $(comma), ,$(PLAN))
STAGES := $(shell seq 1 $(words $(WEIGHTS)))
LAST := $(lastword $(STAGES))
prev = $(shell echo $$(($(1) - 1)))

ROUTE = $(QA_BIN)qa-route --split $(BASELINE)=100,$(CANDIDATE)=0 --candidate $(CANDIDATE) \
	--plan $(PLAN) --salt $(SALT)

.DEFAULT_GOAL := migrate
migrate: $(R)/stage-$(LAST).pass
	@cat $(R)/ramp.txt
.PHONY: migrate

# Stage K: route, send (the candidate falls back to the baseline), score,
# price.  A stage starts only after the one before it passed.
define stage
$(R)/stage-$(1).jsonl: $(R)/tasks.jsonl $(R)/decoding.txt $(CONFIG) $(QA_TOOLS) $(if $(filter 1,$(1)),,$(R)/stage-$(call prev,$(1)).pass)
	$(ROUTE) --stage $(1) --fallback $(BASELINE) $$< | $$(call data,$(QA_BIN)qa-send -q $(DECODE_FLAGS) $(SEND_FLAGS)) | \
		$$(call data,$(QA_BIN)qa-score $(SCORE_FLAGS)) > $$@
endef
$(foreach k,$(STAGES),$(eval $(call stage,$(k))))
# Stage 0 is the rollback: it runs only when a gate failed.
$(R)/stage-0.jsonl: $(R)/tasks.jsonl $(R)/decoding.txt $(QA_TOOLS)
	$(ROUTE) --stage 0 $< | $(call data,$(QA_BIN)qa-send -q $(DECODE_FLAGS) $(SEND_FLAGS)) | \
		$(call data,$(QA_BIN)qa-score $(SCORE_FLAGS)) > $@

.SECONDARY: $(foreach k,0 $(STAGES),$(R)/stage-$(k).jsonl $(R)/stage-$(k).cost.json)
$(R)/stage-%.cost.json: $(R)/stage-%.jsonl
	$(call data,$(QA_BIN)qa-cost --summary $< > $@ 2> $(R)/stage-$*.cost.txt)

# The gate: the records routed to the candidate against the baseline's own
# answers to the same items.  A record the baseline served after the
# candidate failed is the candidate's error here (its answer is not the
# candidate's), so --max-errors catches a candidate that only falls back.
CANDIDATE_SHARE = select(.endpoint == $$c) | if .response.fallback_from then \
	.response.fallback_from[0] as $$f | del(.response, .scores) | .error = {type: ($$f.type // "server"), \
	message: ("served by a fallback endpoint after: " + ($$f.message // "a cooldown"))} else . end
$(R)/stage-%.pass: $(R)/stage-%.jsonl $(R)/stage-%.cost.json $(R)/$(BASELINE).scored.jsonl
	jq -c --arg c '$(CANDIDATE)' '$(CANDIDATE_SHARE)' $< > $(R)/stage-$*.candidate.jsonl
	status=0; $(QA_BIN)qa-diff --gate-on $(GATE_ON) --max-drop $(MAX_DROP) --max-errors $(MAX_ERRORS) $(GATE_FLAGS) \
		$(R)/$(BASELINE).scored.jsonl $(R)/stage-$*.candidate.jsonl \
		> $(R)/stage-$*.diff.json 2> $(R)/stage-$*.gate.txt || status=$$?; \
	case $$status in \
	0) decision=$$([ $* = $(LAST) ] && echo done || echo advance) ;; \
	1) decision=rollback ;; \
	*) cat $(R)/stage-$*.gate.txt >&2; exit 2 ;; \
	esac; \
	$(QA_ROOT)/pipelines/ramp-row $* $(word $*,$(WEIGHTS)) $(R)/stage-$*.jsonl $(R)/stage-$*.cost.json $$decision \
		'$(BASELINE)' '$(CANDIDATE)' > $(R)/stage-$*.row; \
	$(QA_ROOT)/pipelines/ramp-row --table $(R)/stage-*.row > $(R)/ramp.txt; \
	if [ $$decision = rollback ]; then \
		sed 's/^qa-diff: gate: /gate: /p;d' $(R)/stage-$*.gate.txt >&2; \
		$(MAKE) -s -f $(firstword $(MAKEFILE_LIST)) $(MAKEOVERRIDES) $(R)/stage-0.jsonl $(R)/stage-0.cost.json; \
		$(QA_ROOT)/pipelines/ramp-row 0 0 $(R)/stage-0.jsonl $(R)/stage-0.cost.json "rolled back" \
			'$(BASELINE)' '$(CANDIDATE)' > $(R)/stage-0.row; \
		$(QA_ROOT)/pipelines/ramp-row --table $(R)/stage-[1-9]*.row $(R)/stage-0.row > $(R)/ramp.txt; \
		cat $(R)/ramp.txt; \
		echo "migrate: stage $* failed its gate; traffic rolled back to $(BASELINE)" >&2; \
		exit 1; \
	fi; \
	touch $@
