#!/usr/bin/env bash
# tier: unit
# Validator: every number the README's "Cost" section quotes (ratios, MiB, KiB, counts) appears in
# docs/performance.md, the report of the last full bench/run. A new run that changes the numbers
# without the README following fails here. Needs no binary.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"

STEP="readme cost section"
python3 - "$SRC/README.md" "$SRC/docs/performance.md" >"$TMP/out" 2>&1 <<'PY' || true
import re, sys
readme, report = open(sys.argv[1]).read(), open(sys.argv[2]).read()
m = re.search(r"^## Cost\b.*?$(.*?)^## ", readme, re.S | re.M)
if not m:
    print("FAIL no '## Cost' section in README.md")
    sys.exit()
quoted = re.findall(r"\d+\.\d+x|\d+(?:\.\d+)? [MK]iB|\d{1,3}(?:,\d{3})+", m.group(1))
if len(quoted) < 10:
    print(f"FAIL only {len(quoted)} numbers found in the Cost section: {quoted}")
for q in quoted:
    print(("ok " if q in report else "FAIL ") + q)
PY
n=0
while read -r verdict number; do
  n=$((n + 1))
  case "$verdict" in
    ok) ;;
    *) fail "README.md quotes '$number', which docs/performance.md does not hold (run bench/run, then update the README)" ;;
  esac
done <"$TMP/out"
[ "$n" -ge 10 ] && [ "$FAILS" -eq 0 ] && ok "$n numbers of the README's Cost section are in docs/performance.md"
[ "$n" -ge 10 ] || fail "too few numbers checked ($n)"

finish validate_readme_numbers
