#!/usr/bin/env bash
# make demo: the assessment a team runs before swapping a model, on the
# embedded mock provider (no network, no key): a baseline against a
# quantized-like candidate on the project's task batteries
# (pipelines/assess.mk), then the migration ramp the gate would stop
# (pipelines/migrate.mk).  Everything it computes is kept in runs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${QA_BUILD:-build}
conf=(BASELINE=baseline CANDIDATE=int4 NAME=demo BUILD="$BUILD"
	CONFIG="$PWD/pipelines/demo.conf" PRICES="$PWD/pipelines/prices.csv")

echo "qa demo: $(cat pipelines/tasks/*.jsonl | wc -l) tasks from pipelines/tasks, baseline vs int4 (mock provider)"
# The ramp first, so the report can show it.  Both make runs fail on
# purpose: int4 does not pass the gate, which is the demo's point.
# A ramp that failed for any other reason is an error (a table left by
# an earlier run is no proof).
mkdir -p runs/demo
make -s -f pipelines/migrate.mk "${conf[@]}" > /dev/null 2> runs/demo/migrate.err ||
	grep -q 'failed its gate' runs/demo/migrate.err || { cat runs/demo/migrate.err >&2; exit 1; }
status=0
make -s -f pipelines/assess.mk "${conf[@]}" report 2> runs/demo/make.err || status=$?
[ $status -eq 0 ] || { cat runs/demo/make.err >&2; exit $status; }
printf '\nThe report as one page, to open in a browser: %s\n' "$PWD/runs/demo/report.html"
printf 'Everything above, and the raw records, are in runs/demo/ (report.md, diff.txt, cost.md, ramp.txt, ...).\n'
