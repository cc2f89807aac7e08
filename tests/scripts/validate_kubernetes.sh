#!/usr/bin/env bash
# tier: unit
# Validator: every ```yaml block of docs/kubernetes.md parses (python3-yaml, Debian's
# python3-yaml package; no kubectl here), the main manifest is a Deployment of an app plus a
# lettagate sidecar with readiness on /readyz and liveness on /livez (port 8080), resources,
# and a securityContext with runAsNonRoot, uid 10001, readOnlyRootFilesystem and no privilege
# escalation (on the sidecar, not the pod: that would bind the app too); the metrics Service keeps
# not-ready pods and the PodMonitor selects the pod; every LETTAGATE_* variable is a real setting;
# the image's args are a subcommand.
# Then the Kubernetes API schema: every document (and the native-sidecar fragment) is walked
# against the API models of Debian's python3-kubernetes (the official client's generated
# models): an unknown or misspelt field, a wrong type or a missing required field fails. The
# client in Debian 12 knows the API of Kubernetes 1.22; the one later field the docs use
# (an init container's restartPolicy, native sidecars, 1.28) is named as such.
set -euo pipefail
# shellcheck source=tests/scripts/lib/validate_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/validate_common.sh"
require_binary
PY=/usr/bin/python3
if ! "$PY" -c 'import yaml, kubernetes' 2>/dev/null; then
  echo "installing python3-yaml python3-kubernetes" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-yaml python3-kubernetes >&2 ||
    die "python3-yaml or python3-kubernetes is missing and could not be installed"
fi
"$LG" help | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^LETTAGATE_[A-Z0-9_]+$/) print $i }' | sort -u >"$TMP/settings"

STEP="docs/kubernetes.md"
"$PY" - "$SRC/docs/kubernetes.md" "$TMP/settings" <<'PY' || FAILS=$((FAILS + 1))
import re, sys, yaml
text = open(sys.argv[1]).read()
settings = set(open(sys.argv[2]).read().split())
blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
errs = []
if not blocks:
    errs.append("no ```yaml blocks")
docs = []
for i, b in enumerate(blocks, 1):
    try:
        docs += [(i, d) for d in yaml.safe_load_all(b) if d is not None]
    except yaml.YAMLError as e:
        errs.append(f"yaml block {i} does not parse: {e}")
print(f"ok   [docs/kubernetes.md]: {len(blocks)} yaml blocks, {len(docs)} documents parse")

def check_gate(c, where, sidecar_native=False):
    rp, lp = c.get("readinessProbe", {}), c.get("livenessProbe", {})
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    def probe_ok(p, path):
        g = p.get("httpGet", {})
        port = g.get("port")
        return g.get("path") == path and (port == 8080 or ports.get(port) == 8080)
    if not probe_ok(rp, "/readyz"):
        errs.append(f"{where}: readinessProbe must GET /readyz on 8080")
    if not probe_ok(lp, "/livez"):
        errs.append(f"{where}: livenessProbe must GET /livez on 8080")
    r = c.get("resources", {})
    if not r.get("requests", {}).get("memory") or not r.get("requests", {}).get("cpu") or not r.get("limits", {}).get("memory"):
        errs.append(f"{where}: resources need cpu and memory requests and a memory limit")
    sc = c.get("securityContext", {})
    for k, v in (("runAsNonRoot", True), ("readOnlyRootFilesystem", True), ("allowPrivilegeEscalation", False), ("runAsUser", 10001)):
        if sc.get(k) != v:
            errs.append(f"{where}: securityContext.{k} must be {v}")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        errs.append(f"{where}: securityContext.capabilities.drop must include ALL")
    args = c.get("args", [])
    if args[:1] not in (["serve"], []):
        errs.append(f"{where}: args must start with the serve subcommand")
    env = {e["name"] for e in c.get("env", [])}
    for n in env:
        if n.startswith("LETTAGATE_") and n not in settings:
            errs.append(f"{where}: {n} is not a lettagate setting")
    if "LETTAGATE_FORWARD" not in env or "LETTAGATE_MIN_AGENTS" not in env:
        errs.append(f"{where}: needs LETTAGATE_FORWARD and LETTAGATE_MIN_AGENTS")
    if sidecar_native and c.get("restartPolicy") != "Always":
        errs.append(f"{where}: a native sidecar needs restartPolicy: Always")

deps = [(i, d) for i, d in docs if d.get("kind") == "Deployment"]
if not deps:
    errs.append("no Deployment")
for i, d in deps:
    spec = d["spec"]["template"]["spec"]
    cs = spec.get("containers", [])
    gates = [c for c in cs if "lettagate" in c.get("image", "")]
    apps = [c for c in cs if "lettagate" not in c.get("image", "")]
    if len(gates) != 1 or not apps:
        errs.append(f"Deployment (block {i}): needs an app container and one lettagate sidecar")
        continue
    check_gate(gates[0], f"Deployment {d['metadata']['name']} lettagate")
    # At pod level runAsNonRoot binds the app container too, whose image may run as root.
    if "runAsNonRoot" in spec.get("securityContext", {}):
        errs.append("pod securityContext sets runAsNonRoot: it would bind the app container too; set it on the sidecar")
    if spec.get("terminationGracePeriodSeconds", 30) <= 10:
        errs.append("terminationGracePeriodSeconds must exceed the 10s drain")
    sel = d["spec"]["selector"]["matchLabels"]
    if any(d["spec"]["template"]["metadata"]["labels"].get(k) != v for k, v in sel.items()):
        errs.append("the selector does not match the pod labels")
    for a in apps:
        urls = [e.get("value", "") for e in a.get("env", [])]
        if any("letta-server" in u for u in urls):
            errs.append(f"app container {a['name']} talks to letta-server directly, not through the sidecar")
# Metrics while not ready: a Service in front of the health port keeps not-ready pods
# (publishNotReadyAddresses), or a PodMonitor scrapes the pods themselves.
pod_labels = deps[0][1]["spec"]["template"]["metadata"]["labels"] if deps else {}
def selects_pod(sel):
    return bool(sel) and all(pod_labels.get(k) == v for k, v in sel.items())
services = [d for i, d in docs if d.get("kind") == "Service"
            and any(p.get("port") == 8080 or p.get("targetPort") == "health" for p in d["spec"].get("ports", []))]
monitors = [d for i, d in docs if d.get("kind") == "PodMonitor"]
for d in services:
    if not d["spec"].get("publishNotReadyAddresses"):
        errs.append(f"Service {d['metadata']['name']}: needs publishNotReadyAddresses: true (metrics vanish while not ready)")
    if not selects_pod(d["spec"].get("selector", {})):
        errs.append(f"Service {d['metadata']['name']}: its selector does not match the pod")
for d in monitors:
    if not selects_pod(d["spec"].get("selector", {}).get("matchLabels", {})):
        errs.append(f"PodMonitor {d['metadata']['name']}: its selector does not match the pod")
    if not any(e.get("port") == "health" and e.get("path") == "/metrics" for e in d["spec"].get("podMetricsEndpoints", [])):
        errs.append(f"PodMonitor {d['metadata']['name']}: needs port health, path /metrics")
if not services or not monitors:
    errs.append("needs a Service for the health port and a PodMonitor")
# The native sidecar variant: initContainers with restartPolicy Always and a startupProbe.
for i, d in docs:
    inits = (d.get("spec", {}).get("template", {}).get("spec", {}) or {}).get("initContainers", [])
    for c in inits:
        if "lettagate" in c.get("image", ""):
            check_gate(c, f"native sidecar (block {i})", sidecar_native=True)
            if c.get("startupProbe", {}).get("httpGet", {}).get("path") != "/readyz":
                errs.append(f"native sidecar (block {i}): startupProbe must GET /readyz")
for e in errs:
    print(f"FAIL [docs/kubernetes.md]: {e}", file=sys.stderr)
if not errs:
    print("ok   [docs/kubernetes.md]: Deployment + lettagate sidecar: /readyz readiness, /livez liveness, resources, non-root read-only")
sys.exit(1 if errs else 0)
PY

STEP="kubernetes schema"
"$PY" - "$SRC/docs/kubernetes.md" <<'PY' || FAILS=$((FAILS + 1))
import re, sys, yaml
import kubernetes
from kubernetes import client

# Fields newer than the API python3-kubernetes knows: (model, field) -> since when.
NEWER = {("V1Container", "restartPolicy"): "Kubernetes 1.28 (native sidecar init containers)"}
PRIMITIVE = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "datetime": (str,)}
errs, newer = [], set()

def walk(value, typ, path):
    """value (parsed YAML) against the client's type name: list[T], dict(str, T), a primitive,
    'object' (anything: IntOrString, raw extensions) or a model class."""
    if typ.startswith("list["):
        if not isinstance(value, list):
            return errs.append(f"{path}: a list expected, got {type(value).__name__}")
        for i, item in enumerate(value):
            walk(item, typ[5:-1], f"{path}[{i}]")
    elif typ.startswith("dict("):
        if not isinstance(value, dict):
            return errs.append(f"{path}: a map expected, got {type(value).__name__}")
        inner = typ[5:-1].split(", ", 1)[1]
        for k, item in value.items():
            walk(item, inner, f"{path}.{k}")
    elif typ == "object":
        pass
    elif typ in PRIMITIVE:
        if not isinstance(value, PRIMITIVE[typ]) or (typ != "bool" and isinstance(value, bool)):
            errs.append(f"{path}: {typ} expected, got {value!r}")
    else:
        model = getattr(client, typ)
        if not isinstance(value, dict):
            return errs.append(f"{path}: a {typ} object expected, got {value!r}")
        fields = {json_name: attr for attr, json_name in model.attribute_map.items()}
        for k, item in value.items():
            if k in fields:
                walk(item, model.openapi_types[fields[k]], f"{path}.{k}")
            elif (typ, k) in NEWER:
                newer.add(f"{path}.{k}: {NEWER[(typ, k)]}")
            else:
                errs.append(f"{path}.{k}: not a field of {typ}")

text = open(sys.argv[1]).read()
checked = 0
for i, block in enumerate(re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M), 1):
    for doc in yaml.safe_load_all(block):
        if not doc:
            continue
        if doc.get("apiVersion") == "monitoring.coreos.com/v1":
            continue  # the Prometheus Operator's CRD: not in the client's models (checked above)
        if "kind" in doc:
            model = "V1" + doc["kind"] if doc.get("apiVersion", "").split("/")[-1] == "v1" else None
            if not model or not hasattr(client, model):
                errs.append(f"block {i}: {doc.get('apiVersion')} {doc.get('kind')} is not a Kubernetes v1 kind")
                continue
            where = f"block {i} {doc['kind']} {doc.get('metadata', {}).get('name', '?')}"
            walk(doc, model, where)
            try:  # required fields: the client's own deserializer refuses a missing one
                client.ApiClient()._ApiClient__deserialize(doc, model)
            except (ValueError, TypeError) as e:
                errs.append(f"{where}: {e}")
        else:  # a fragment of a Deployment (the native-sidecar variant): fields and types only
            model, where = "V1Deployment", f"block {i} (Deployment fragment)"
            walk(doc, model, where)
        checked += 1
if checked < 3:
    errs.append(f"only {checked} documents found")
for e in errs:
    print(f"FAIL [kubernetes schema]: {e}", file=sys.stderr)
for n in sorted(newer):
    print(f"note [kubernetes schema]: newer than the client's API: {n}")
if not errs:
    print(f"ok   [kubernetes schema]: {checked} documents match the Kubernetes API models "
          f"(python3-kubernetes {kubernetes.__version__}): fields, types, required fields")
sys.exit(1 if errs else 0)
PY

finish validate_kubernetes
