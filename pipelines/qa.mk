# What assess.mk and migrate.mk share: where the tools are, the endpoint
# config, the run directory, and the steps both take (the battery, a run of
# it on one endpoint, scored).  Included, never run on its own.
#
# qa's exit statuses: 0 all records handled, 1 some records carry errors
# (data: the step succeeded and the errors are in its output), 2 usage or
# configuration error (the step failed).  `$(data)` runs a command that way.

QA_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DELETE_ON_ERROR:
.SUFFIXES:

# The tools: from QA_BIN when it is set (the test suites set it); in a
# source tree, from its build, which is brought up to date first (make deps
# installs what the build needs); installed, from $PATH.
ifneq ($(strip $(QA_BIN)),)
override QA_BIN := $(patsubst %//,%/,$(QA_BIN)/)
QA_TOOLS :=
else ifneq ($(wildcard $(QA_ROOT)/tools/qa-send/main.c),)
BUILD ?= build
override QA_BIN := $(if $(filter /%,$(BUILD)),$(BUILD),$(QA_ROOT)/$(BUILD))/bin/
QA_TOOLS := $(QA_BIN)qa-send
$(QA_TOOLS): FORCE
	@$(MAKE) -s -C $(QA_ROOT) BUILD=$(BUILD) deps all
FORCE:
.PHONY: FORCE
else
QA_TOOLS :=
endif

NAME ?= $(BASELINE)-vs-$(CANDIDATE)
RUNS ?= runs
R := $(RUNS)/$(NAME)
TASKS ?= $(sort $(wildcard $(QA_ROOT)/pipelines/tasks/*.jsonl))
# The endpoint config and price table, if given, are prerequisites: editing
# them re-runs what depends on them.
CONFIG ?= $(QA_CONFIG)
PRICES ?= $(QA_PRICES)
export QA_CONFIG := $(CONFIG)
export QA_PRICES := $(PRICES)
SEND_FLAGS ?=
SCORE_FLAGS ?=
# Decoding: greedy unless told otherwise.  A server's default sampling
# makes two runs of the same model disagree (a baseline scored 28% on its
# own greedy continuations), so both sides decode with these, as
# qa-send --param defaults: a record's own params still win.  Add a seed
# for a server that samples anyway (DECODE='temperature=0.7 seed=1');
# DECODE= (empty) leaves decoding to each server.  The report says which.
DECODE ?= temperature=0
DECODE_FLAGS = $(foreach p,$(DECODE),-p $(p))

data = { $(1) || [ $$? -eq 1 ]; }

ifeq ($(strip $(BASELINE)),)
$(error BASELINE is not set: make -f $(firstword $(MAKEFILE_LIST)) BASELINE=endpoint CANDIDATE=endpoint)
endif
ifeq ($(strip $(CANDIDATE)),)
$(error CANDIDATE is not set: make -f $(firstword $(MAKEFILE_LIST)) BASELINE=endpoint CANDIDATE=endpoint)
endif
TASK_FILES := $(wildcard $(TASKS))
ifeq ($(strip $(TASK_FILES)),)
$(error TASKS names no file: $(TASKS))
endif

# What the report says of decoding: the defaults both sides were sent
# with.  Written as the makefile is read (after the checks above), and only when it changes, so a
# new DECODE sends again and make -n stays true.
DECODING_TEXT := $(if $(strip $(DECODE)),$(strip $(DECODE)),server defaults)
DECODING_SET := $(shell mkdir -p '$(R)' && { echo '$(DECODING_TEXT)' | cmp -s - '$(R)/decoding.txt' || echo '$(DECODING_TEXT)' > '$(R)/decoding.txt'; })

$(R)/tasks.jsonl: $(TASK_FILES) | $(R)/.
	cat $(TASK_FILES) > $@

$(R)/.:
	mkdir -p $@

# One endpoint's run of the battery: sent, then scored and priced, so
# that qa-diff compares cost per correct answer too (a model without a
# price is left unpriced, with a warning in ENDPOINT.cost.err).  The record
# keeps everything qa-send wrote (response or error) for the later steps.
$(R)/%.sent.jsonl: $(R)/tasks.jsonl $(R)/decoding.txt $(CONFIG) $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-send -q --endpoint $* $(DECODE_FLAGS) $(SEND_FLAGS) $< > $@)

$(R)/%.scored.jsonl: $(R)/%.sent.jsonl $(CONFIG) $(PRICES) $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-score $(SCORE_FLAGS) $< | $(QA_BIN)qa-cost 2> $(R)/$*.cost.err > $@)

.PRECIOUS: $(R)/%.sent.jsonl $(R)/%.scored.jsonl $(R)/tasks.jsonl $(R)/.
