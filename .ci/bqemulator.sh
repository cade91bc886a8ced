#!/usr/bin/env bash
# Builds the BigQuery emulator (github.com/goccy/bigquery-emulator v0.8.1, from the
# separate module in testdata/bqemulator) into a cache directory when it is missing or
# stale, and prints its path. The tests find it at the same place.
#   PULSO_BQ_EMULATOR  binary path (default $HOME/.cache/pulso/bigquery-emulator)
# Cold build: ~6.5 min and ~6 GB RAM on 2 cores; a cached binary costs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
bin="${PULSO_BQ_EMULATOR:-${HOME}/.cache/pulso/bigquery-emulator}"
src=testdata/bqemulator
stamp="$bin.sum"
want=$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -d' ' -f1)
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "bigquery-emulator: cached at $bin" >&2
  echo "$bin"
  exit 0
fi
mkdir -p "$(dirname "$bin")"
echo "bigquery-emulator: building into $bin (cold build takes several minutes)" >&2
start=$(date +%s)
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(cd "$src" && go build -trimpath -o "$tmp" .)
mv -f "$tmp" "$bin"
echo "$want" >"$stamp"
echo "bigquery-emulator: built in $(( $(date +%s) - start ))s, $(du -h "$bin" | cut -f1)" >&2
echo "$bin"
