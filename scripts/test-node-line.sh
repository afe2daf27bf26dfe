#!/usr/bin/env bash
# Runs every workspace's vitest suite on a second Node.js line (default 22, the lowest `engines`
# allows), with that line's `node` binary installed from the npm `node` package into a temp prefix.
# Usage: scripts/test-node-line.sh [major]. Prints each workspace's summary and a closing total.
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:-22}"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT
(cd "$prefix" && npm init -y >/dev/null && npm install --no-audit --no-fund "node@^$major" >/dev/null)
node_bin="$prefix/node_modules/.bin/node"
echo "suites on Node $("$node_bin" --version)"
vitest="$PWD/node_modules/vitest/vitest.mjs"
log=$(mktemp)
rc=0
for dir in packages/* tools/* tests/* apps/*; do
  [ -f "$dir/package.json" ] && [ -f "$dir/vitest.config.ts" ] || continue
  grep -q '"test"' "$dir/package.json" || continue
  echo "== $dir (Node $major)"
  out=$(mktemp)
  # This node first on PATH too, for the child processes the tests spawn.
  if ! (cd "$dir" && PATH="$(dirname "$node_bin"):$PATH" "$node_bin" "$vitest" run) >"$out" 2>&1; then rc=1; fi
  cat "$out" >>"$log"
  grep -E 'Test Files|Tests |FAIL|^matrix: ' "$out" || true
  rm -f "$out"
done
node scripts/summarize-tests.mjs "$log"
exit "$rc"
