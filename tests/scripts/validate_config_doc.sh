#!/usr/bin/env bash
# tier: unit
# Validator: docs/configuration.md is what scripts/gen-config-doc makes of this binary's
# `lettagate help` (every setting, its variable, default and meaning), so the committed
# reference cannot drift from the code. On failure: run scripts/gen-config-doc and commit.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
require_binary

STEP="gen-config-doc --check"
if "$SRC/scripts/gen-config-doc" --binary "$LG" --check >"$TMP/out" 2>&1; then
  ok "$(tail -n1 "$TMP/out")"
else
  cat "$TMP/out" >&2
  fail "docs/configuration.md differs from \`$LG help\`: run scripts/gen-config-doc --binary $LG"
fi

STEP="coverage"
# Independent of the generator: every LETTAGATE_* variable of --help appears in the doc, with
# its flag on the same row.
n=0
while read -r flag env; do
  n=$((n + 1))
  grep -qE "^\| \`$flag\` \| \`$env\` \|" "$SRC/docs/configuration.md" || fail "$flag ($env) has no row in docs/configuration.md"
done < <("$LG" help | awk '$1 ~ /^--/ && $2 ~ /^LETTAGATE_/ { print $1, $2 }')
if [ "$n" -gt 20 ]; then ok "$n settings, each with a row"; else fail "only $n settings found in \`$LG help\`"; fi

finish validate_config_doc
