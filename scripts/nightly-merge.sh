#!/usr/bin/env bash
# The nightly's last step: unite every shard's results (failing if any expected cell is
# missing), render one HTML report, and fail on divergences that are new since the baseline.
#   scripts/nightly-merge.sh SHARDS_DIR REPORT_DIR [BASELINE_DIR]
# Used by `make nightly` and by .github/workflows/nightly.yml.
set -euo pipefail
shards=${1:?shards dir}; report=${2:?report dir}; baseline=${3:-}
PYTHON=${PYTHON:-.venv/bin/python}
mkdir -p "$report"
"$PYTHON" -m cors_matrix merge "$shards"/*.jsonl -o "$report/merged.jsonl"
args=()
if [ -n "$baseline" ] && [ -f "$baseline/merged.jsonl" ]; then
  args=(--baseline "$baseline/merged.jsonl" --fail-on-new-divergence)
else
  echo "nightly-merge: no baseline at '${baseline:-<none>}'; this report starts the series"
fi
"$PYTHON" -m cors_matrix report "$report/merged.jsonl" -o "$report" --junit "$report/junit.xml" "${args[@]}"
