#!/bin/sh
# lint-docker.sh - check the deployment artifacts without a Docker engine:
# shell scripts (shellcheck), compose file (docker compose / docker-compose
# config, else YAML + structure), Dockerfile (hadolint if present, else
# sanity rules), Kubernetes YAML, systemd units (systemd-analyze verify),
# man pages (groff warnings), and the example configs (rendered by the
# entry point and checked by a built peerlock, if one is found).
#   contrib/lint-docker.sh [PEERLOCK_BINARY]
# Exits 1 if any check failed; a tool that is missing is reported as SKIP.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
bin=${1:-${PEERLOCK:-$top/build/peerlock}}
nfail=0
npass=0
ok() { npass=$((npass + 1)); echo "PASS: $*"; }
bad() { nfail=$((nfail + 1)); echo "FAIL: $*"; }
skip() { echo "SKIP: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lint-docker.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- shell -------------------------------------------------------------
if have shellcheck; then
	for f in docker/entrypoint.sh docker/examples/init.sh \
	    contrib/lint-docker.sh contrib/container-lib.sh \
	    contrib/container-test.sh contrib/deb-test.sh contrib/kube-test.sh \
	    contrib/handover-test.sh; do
		if shellcheck -s sh "$f"; then ok "shellcheck $f"
		else bad "shellcheck $f"; fi
	done
	if shellcheck -s bash docker/peerlock-health; then
		ok "shellcheck docker/peerlock-health"
	else bad "shellcheck docker/peerlock-health"; fi
	# lib.sh variables are set by the sourced file and the harness.
	if shellcheck -s sh -e SC1091,SC2154,SC2016 \
	    tests/e2e/netns-topology.sh; then
		ok "shellcheck tests/e2e/netns-topology.sh"
	else bad "shellcheck tests/e2e/netns-topology.sh"; fi
else
	skip "shellcheck not installed (apt-get install shellcheck)"
fi

# --- YAML and compose ----------------------------------------------------
if python3 -c 'import yaml' 2>/dev/null; then
	if python3 - docker/compose.yml <<'PY'
import os, sys, yaml
path = sys.argv[1]
doc = yaml.safe_load(open(path))
errs = []
svcs = doc.get("services") or {}
nets = set((doc.get("networks") or {}).keys())
vols = set((doc.get("volumes") or {}).keys())
base = os.path.dirname(path)
for name, s in svcs.items():
    if "image" not in s and "build" not in s:
        errs.append("%s: neither image nor build" % name)
    for n in s.get("networks") or []:
        if n not in nets:
            errs.append("%s: unknown network %s" % (name, n))
    for v in s.get("volumes") or []:
        src = v.split(":")[0]
        if src.startswith("."):
            if not os.path.exists(os.path.join(base, src)):
                errs.append("%s: missing bind source %s" % (name, src))
        elif src not in vols:
            errs.append("%s: unknown volume %s" % (name, src))
    for d in s.get("depends_on") or {}:
        if d not in svcs:
            errs.append("%s: depends on unknown %s" % (name, d))
    b = s.get("build")
    if isinstance(b, dict):
        ctx = os.path.join(base, b.get("context", "."))
        if not os.path.exists(os.path.join(ctx, b.get("dockerfile", "Dockerfile"))):
            errs.append("%s: Dockerfile not found" % name)
# The topology: only the sidecars share wan; app/legacy stay on their site.
on = lambda n: sorted(k for k, s in svcs.items() if n in (s.get("networks") or []))
if on("wan") != ["peerlock-a", "peerlock-b"]:
    errs.append("wan must join exactly peerlock-a and peerlock-b: %s" % on("wan"))
if "ports" in svcs.get("legacy", {}) or "ports" in svcs.get("app", {}):
    errs.append("app/legacy must publish no ports")
for e in errs:
    print("  " + e)
sys.exit(1 if errs else 0)
PY
	then ok "docker/compose.yml: YAML, references, topology"
	else bad "docker/compose.yml: YAML, references, topology"; fi
	if python3 - contrib/kubernetes/*.yaml <<'PY'
import sys, yaml
errs = []
for path in sys.argv[1:]:
    for d in yaml.safe_load_all(open(path)):
        if not d:
            continue
        for k in ("apiVersion", "kind", "metadata"):
            if k not in d:
                errs.append("%s: document without %s" % (path, k))
        if d.get("kind") != "Deployment":
            continue
        spec = d["spec"]["template"]["spec"]
        for v in spec.get("volumes", []):
            m = (v.get("secret") or {}).get("defaultMode")
            if m is not None and m & 0o077 and m != 0o440:
                errs.append("%s: secret %s mode %o" % (path, v["name"], m))
        for c in spec["containers"]:
            if c["name"] != "peerlock":
                continue
            for p in ("readinessProbe", "livenessProbe"):
                if (c.get(p) or {}).get("httpGet", {}).get("path") != "/healthz":
                    errs.append("%s: peerlock %s is not /healthz" % (path, p))
for e in errs:
    print("  " + e)
sys.exit(1 if errs else 0)
PY
	then ok "contrib/kubernetes: YAML and sidecar rules"
	else bad "contrib/kubernetes: YAML and sidecar rules"; fi
else
	skip "python3 yaml not available (apt-get install python3-yaml)"
fi
if have docker && docker compose version >/dev/null 2>&1; then
	dc="docker compose"
elif have docker-compose; then
	dc=docker-compose
else
	dc=""
fi
if [ -n "$dc" ]; then
	if $dc -f docker/compose.yml config -q; then ok "$dc config"
	else bad "$dc config"; fi
else
	skip "no docker compose / docker-compose to run 'config'"
fi

# --- Dockerfile ------------------------------------------------------------
if have hadolint; then
	if hadolint docker/Dockerfile; then ok "hadolint"; else bad "hadolint"; fi
else
	skip "hadolint not installed; using the built-in Dockerfile rules"
fi
if python3 - docker/Dockerfile <<'PY'
import json, os, re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
stages, errs = [], []
for l in lines:
    op, _, arg = l.partition(" ")
    op = op.upper()
    if op == "FROM":
        stages.append([])
    if stages:
        stages[-1].append((op, arg.strip()))
if len(stages) < 2:
    errs.append("expected a multi-stage build")
final = stages[-1] if stages else []
ops = [o for o, _ in final]
users = [a for o, a in final if o == "USER"]
if not users or users[-1].split(":")[0] in ("0", "root"):
    errs.append("final stage must run as a non-root USER")
for need in ("HEALTHCHECK", "STOPSIGNAL", "ENTRYPOINT"):
    if need not in ops:
        errs.append("final stage lacks " + need)
for o, a in final:
    if o in ("ENTRYPOINT", "CMD"):
        try:
            json.loads(a)
        except ValueError:
            errs.append("%s must be exec (JSON) form: %s" % (o, a))
    if o == "RUN" and "apt-get install" in a:
        if "--no-install-recommends" not in a:
            errs.append("runtime apt-get install without --no-install-recommends")
        if "rm -rf /var/lib/apt/lists" not in a:
            errs.append("runtime apt lists not removed")
        if re.search(r"\b(curl|wget)\b", a):
            errs.append("runtime installs curl/wget")
    if o == "COPY" and "--from" not in a:
        srcs = [w for w in a.split() if not w.startswith("--")][:-1]
        for s in srcs:
            if not os.path.exists(s):
                errs.append("COPY source missing: " + s)
for e in errs:
    print("  " + e)
sys.exit(1 if errs else 0)
PY
then ok "docker/Dockerfile rules"; else bad "docker/Dockerfile rules"; fi
if have apt-cache; then
	pk=$(grep -o 'lib[a-z0-9.-]*[0-9]\b' docker/Dockerfile | sort -u |
	    grep -v -e '^lib/' -e '^libevent$' || true)
	missing=""
	for p in $pk; do
		apt-cache show "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -z "$pk" ]; then skip "no runtime packages found in Dockerfile"
	elif [ -z "$missing" ]; then ok "runtime packages exist in apt:" "$(echo "$pk" | tr '\n' ' ')"
	else bad "runtime packages unknown to apt:$missing"; fi
fi

# --- systemd ---------------------------------------------------------------
if have systemd-analyze; then
	# The units as make generates them, @bindir@ = the binary checked here
	# (or /usr/bin if there is none); the template as instance "test".
	bindir=/usr/bin
	[ -x "$bin" ] && bindir=$(cd "$(dirname "$bin")" && pwd)
	mkdir -p "$tmp/units"
	for u in peerlock.service peerlock@.service; do
		sed "s|@bindir@|$bindir|g" "contrib/systemd/$u.in" >"$tmp/units/$u"
	done
	cp contrib/systemd/peerlock.socket "$tmp/units/"
	cp "$tmp/units/peerlock@.service" "$tmp/units/peerlock@test.service"
	systemd-analyze verify --man=no "$tmp/units/peerlock.service" \
	    "$tmp/units/peerlock.socket" "$tmp/units/peerlock@test.service" \
	    >"$tmp/sd.out" 2>&1
	# Without a binary, /usr/bin/peerlock is missing on a dev machine.
	if grep -v "$bindir/peerlock is not executable" "$tmp/sd.out" |
	    grep -q .; then
		bad "systemd-analyze verify"; cat "$tmp/sd.out"
	else ok "systemd-analyze verify (peerlock.service, .socket, peerlock@test)"; fi
	if grep -q /usr/local/bin contrib/systemd/*.in; then
		bad "a unit hard-codes /usr/local/bin"
	else ok "units take the binary's path from @bindir@"; fi
else
	skip "systemd-analyze not installed"
fi

# --- man pages -------------------------------------------------------------
if have groff; then
	for f in man/peerlock.8 man/peerlock.conf.5; do
		if groff -man -ww -z "$f" 2>&1 | grep .; then bad "groff $f"
		else ok "groff -ww $f"; fi
	done
else
	skip "groff not installed"
fi

# --- example configs through the entry point --------------------------------
if [ -x "$bin" ]; then
	export PEERLOCK_BIN="$bin"
	idp=$("$bin" keygen -o "$tmp/id.key")
	for h in a b; do
		if PEERLOCK_CONFIG=docker/examples/$h.conf \
		    PEERLOCK_RENDERED="$tmp/$h.conf" PEERLOCK_IDENTITY="$tmp/id.key" \
		    PEER_A="$idp" PEER_B="$idp" sh docker/entrypoint.sh check; then
			ok "docker/examples/$h.conf renders and checks"
		else bad "docker/examples/$h.conf renders and checks"; fi
	done
	# The k8s config uses admin/shutdown_timeout: only on a build with them.
	python3 -c 'import yaml,sys; print(next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "ConfigMap")["data"]["peerlock.conf"])' \
	    contrib/kubernetes/peerlock-sidecar.yaml >"$tmp/k8s.conf" 2>/dev/null
	printf '[peerlock]\nidentity = %s\nadmin = 127.0.0.1:9090\nshutdown_timeout = 30s\n[forward.x]\nlisten = 127.0.0.1:1\npeer = /ip4/127.0.0.1/tcp/1/p2p/%s\n' \
	    "$tmp/id.key" "$idp" >"$tmp/probe.conf"
	if ! "$bin" check -c "$tmp/probe.conf" >/dev/null 2>&1; then
		skip "kubernetes ConfigMap: this peerlock lacks admin/shutdown_timeout"
	elif PEERLOCK_CONFIG="$tmp/k8s.conf" PEERLOCK_RENDERED="$tmp/k8r.conf" \
	    PEERLOCK_IDENTITY="$tmp/id.key" sh docker/entrypoint.sh check; then
		ok "kubernetes ConfigMap peerlock.conf checks"
	else bad "kubernetes ConfigMap peerlock.conf checks"; fi
else
	skip "no peerlock binary at $bin: example configs not checked"
fi

echo "lint-docker: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
