#!/usr/bin/env bash
# tier: unit
# Includes run one way: app -> proxy -> probes -> http -> metrics -> core, and config below
# probes (it may use core only). Each directory of src/ may include itself and what it lists
# below; an include against that order fails, naming the file and line. The same check runs
# first on a small tree with one wrong include, which must be caught (a check that finds
# nothing proves nothing). Needs no binary and no services.
set -euo pipefail
SRC=${LG_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

allowed() {
  case "$1" in
    core) echo "core" ;;
    metrics) echo "metrics core" ;;
    config) echo "config core" ;;
    http) echo "http metrics core" ;;
    probes) echo "probes config http metrics core" ;;
    proxy) echo "proxy probes config http metrics core" ;;
    app) echo "app proxy probes config http metrics core" ;;
    *) return 1 ;;
  esac
}

# Prints each include against the order in the tree $1 (its src/); returns 1 when there is one.
check_tree() {
  local root=$1 bad=0 file dir line target
  for dir in "$root"/src/*/; do
    dir=$(basename "$dir")
    local ok
    if ! ok=$(allowed "$dir"); then
      echo "src/$dir/: not in the include order (add it to tests/scripts/include_order.sh)"
      bad=1
      continue
    fi
    while IFS=: read -r file line target; do
      target=${target#*\"}
      target=${target%%/*}
      case " $ok " in *" $target "*) continue ;; esac
      echo "${file#"$root"/}:$line: includes $target/, above src/$dir/ in the order"
      bad=1
    done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]+/' "$root/src/$dir" || true)
  done
  return $bad
}

# The check itself must see a wrong include.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/config" "$tmp/src/probes"
printf '#include "core/duration.hpp"\n' >"$tmp/src/probes/a.cpp"
printf '#include "core/duration.hpp"\n#include "probes/libpq_loader.hpp"\n' >"$tmp/src/config/b.cpp"
if out=$(check_tree "$tmp"); then
  echo "FAIL: the check missed config/ including probes/ in a test tree" >&2
  exit 1
fi
[[ $out == *"src/config/b.cpp:2: includes probes/"* ]] || { echo "FAIL: unexpected report: $out" >&2; exit 1; }

if ! out=$(check_tree "$SRC"); then
  echo "$out" >&2
  echo "FAIL: includes against the order app -> proxy -> probes -> http -> metrics -> core (config below probes)" >&2
  exit 1
fi
echo "ok   $(find "$SRC/src" -name '*.[ch]pp' | wc -l) files under src/ include only below themselves"
