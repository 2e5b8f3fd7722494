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
else ifneq ($(wildcard $(QA_ROOT)/tools/qa-send.c),)
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

$(R)/tasks.jsonl: $(TASK_FILES) | $(R)/.
	cat $(TASK_FILES) > $@

$(R)/.:
	mkdir -p $@

# One endpoint's run of the battery: sent, then scored and priced, so
# that qa-diff compares cost per correct answer too (a model without a
# price is left unpriced, with a warning in ENDPOINT.cost.err).  The record
# keeps everything qa-send wrote (response or error) for the later steps.
$(R)/%.sent.jsonl: $(R)/tasks.jsonl $(CONFIG) $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-send -q --endpoint $* $(SEND_FLAGS) $< > $@)

$(R)/%.scored.jsonl: $(R)/%.sent.jsonl $(CONFIG) $(PRICES) $(QA_TOOLS)
	$(call data,$(QA_BIN)qa-score $(SCORE_FLAGS) $< | $(QA_BIN)qa-cost 2> $(R)/$*.cost.err > $@)

.PRECIOUS: $(R)/%.sent.jsonl $(R)/%.scored.jsonl $(R)/tasks.jsonl $(R)/.
