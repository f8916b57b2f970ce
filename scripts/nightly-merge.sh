#!/usr/bin/env bash
# The nightly's last step: unite every shard's results (failing if any expected cell is
# missing), render one HTML report, and fail on divergences that are new since the baseline
# (unless ACCEPT_BASELINE=true: then this run, green, is the baseline of the next ones).
#   scripts/nightly-merge.sh SHARDS_DIR REPORT_DIR [BASELINE_DIR]
# Used by `make nightly` and by .github/workflows/nightly.yml.
set -euo pipefail
shards=${1:?shards dir}; report=${2:?report dir}; baseline=${3:-}
PYTHON=${PYTHON:-.venv/bin/python}
# where the shards' traces and screenshots are (downloaded next to the shards in the workflow)
ARTIFACTS=${ARTIFACTS:-results/artifacts}
mkdir -p "$report"
# a lost cell or an engine that could not start fails the night, after the report is written
merged=0
"$PYTHON" -m cors_matrix merge "$shards"/*.jsonl -o "$report/merged.jsonl" || merged=$?
if [ "$merged" -gt 1 ]; then exit "$merged"; fi
args=()
if [ -n "$baseline" ] && [ -f "$baseline/merged.jsonl" ]; then
  args=(--baseline "$baseline/merged.jsonl")
  if [ "${ACCEPT_BASELINE:-false}" = true ]; then  # this run becomes the next runs' baseline
    echo "nightly-merge: accept-baseline: new divergences are listed, not failed"
  else
    args+=(--fail-on-new-divergence)
  fi
else
  echo "nightly-merge: no baseline at '${baseline:-<none>}'; this report starts the series"
fi
"$PYTHON" -m cors_matrix report "$report/merged.jsonl" -o "$report" --junit "$report/junit.xml" \
  --artifacts-root "$ARTIFACTS" "${args[@]}"
exit "$merged"
