#!/usr/bin/env bash
# One shard of the nightly matrix: every scenario ($SCENARIOS, default scenarios/) on ENGINE under POLICY (optionally only the
# I-th of N slices), with JUnit XML. Used by `make nightly` and by .github/workflows/nightly.yml.
#   scripts/nightly-shard.sh ENGINE POLICY OUTDIR [I/N] [extra pytest args...]
# Diverging cells are the report's business, not a failed job: exit 0 for pytest's 0 and 1,
# and pass any other exit code on (interrupted, internal error, usage error, no tests).
set -uo pipefail
engine=${1:?engine}; policy=${2:?cookie policy}; out=${3:?output dir}; shard=${4:-1/1}
shift $(( $# < 4 ? $# : 4 ))
PYTHON=${PYTHON:-.venv/bin/python}
name="${engine}-${policy}-${shard/\//of}"
mkdir -p "$out"
"$PYTHON" -m pytest "${SCENARIOS:-scenarios/}" -q -p no:cacheprovider --cors-require-browsers \
  --cors-browser "$engine" --cors-cookie-policy "$policy" --cors-shard "$shard" \
  --cors-results "$out/$name.jsonl" --junitxml "$out/$name.junit.xml" "$@"
status=$?
if [ "$status" -le 1 ]; then exit 0; fi
echo "nightly-shard: pytest exited $status for $name" >&2
exit "$status"
