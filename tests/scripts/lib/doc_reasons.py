#!/usr/bin/env python3
"""Every reason_code lettagate can produce is documented, and every documented one is produced.

Produced: the reason codes written in src/, found by the few idioms the code uses to write one
(CODE_IDIOMS below; a new idiom must be added there). Documented, in two places that must both
be complete:
  - the reason tables of docs/probes.md and docs/operations.md (their `reason_code` column): a
    reader looking up a code in /status finds when it happens and an example;
  - the list of `reason` label values under lettagate_probe_failures_total in docs/metrics.md:
    every failure code (all but `ok` and `pending`) is a label value a dashboard may meet.
That each documented situation really produces its code is for the tests that make it happen
(tests/integration/*_probe_test.cpp, sse_check_test.cpp, gate_test.cpp assert reason_code).
"""
import os
import re
import sys
from pathlib import Path

SRC = Path(os.environ.get("LG_SOURCE_DIR") or Path(__file__).resolve().parents[3])
CODE = r'"([a-z][a-z0-9_]*)"'

# Where src/ writes a reason code; the group holds the code literal(s).
CODE_IDIOMS = [
    r"Outcome::failure\(\s*([^,]*),",       # Outcome::failure("refused", why), or a ?: of two codes
    r"\bfail\(\s*facts,\s*([^,]*),",        # pg_checks.cpp: fail(facts, "too_few_agents", why)
    r"\bfail\(\{\s*([^,]*),",               # http_client.cpp: fail({"too_large", why})
    r"\bcode = ([^;]*);",                   # libuv errors to codes: case UV_ECONNREFUSED: code = "refused"
    r'\{"[^"]+", ("[a-z_]+")\},\s*(?://|$)', # reason_code_for(): {"28P01", "auth_failed"}, one per line
    r"\breason_code = ([^;]*);",            # a code set directly ("ok", "pending", "not_ready")
]
NOT_FAILURES = {"ok", "pending"}


def produced():
    codes = {}
    for path in sorted((SRC / "src").rglob("*.[ch]pp")):
        text = path.read_text()
        for idiom in CODE_IDIOMS:
            for m in re.finditer(idiom, text, re.M):
                for code in re.findall(CODE, m.group(1)):
                    codes.setdefault(code, str(path.relative_to(SRC)))
    return codes


def table_codes(doc):
    """Codes in the reason_code column of every table of docs/DOC that has one."""
    codes, header = set(), None
    for line in (SRC / "docs" / doc).read_text().splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
        elif "reason_code" in header and not set("".join(cells)) <= set("-: "):
            cell = re.sub(r"status `[a-z_]+`", "", cells[header.index("reason_code")])  # `ok` + status `degraded`
            codes |= set(re.findall(r"`([a-z0-9_]+)`", cell))
    return codes


def metric_label_codes():
    """The `reason` values listed under lettagate_probe_failures_total in docs/metrics.md."""
    text = (SRC / "docs" / "metrics.md").read_text()
    m = re.search(r"^`reason` values.*?\n\n(.*?)\n\n", text, re.S | re.M)
    if not m:
        sys.exit("FAIL: docs/metrics.md: the list of `reason` values is gone")
    listed = re.sub(r"\([^)]*\)", "", m.group(1))  # what is in parentheses explains, it is not a value
    return set(re.findall(r"`([a-z0-9_]+)`", listed))


def main():
    code_at = produced()
    in_tables = table_codes("probes.md") | table_codes("operations.md")
    in_metrics = metric_label_codes()
    failures = []
    for code, where in sorted(code_at.items()):
        if code not in in_tables:
            failures.append(f"{code} ({where}) is in no reason table of docs/probes.md or docs/operations.md")
        if code not in NOT_FAILURES and code not in in_metrics:
            failures.append(f"{code} ({where}) is missing from the `reason` values in docs/metrics.md")
    for code in sorted((in_tables | in_metrics) - set(code_at)):
        failures.append(f"{code} is documented but src/ never writes it (or writes it in an idiom "
                        f"CODE_IDIOMS in {Path(__file__).name} does not know)")
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    if failures:
        return 1
    print(f"ok   {len(code_at)} reason codes: each documented, and each documented one written in src/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
