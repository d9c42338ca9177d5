#!/bin/sh
# kube-test.sh - contrib/kubernetes/ without a cluster:
#
# 1. kubeconform (built from its Go module) validates every manifest
#    against the Kubernetes API's JSON schemas in strict mode (unknown
#    fields are errors).  The schemas come from the PyPI package
#    kubernetes-validate, which ships them for Kubernetes 1.25 to 1.37
#    (the usual schema download from GitHub is not reachable here).  A
#    manifest with a misspelled field must be rejected, so the check can
#    fail.
# 2. podman kube play runs the Deployment's pod (one replica): the
#    peerlock sidecar with its securityContext, env, volumes (ConfigMap,
#    in-memory emptyDirs) as in the manifest, and the identity Secret as
#    the kubelet mounts it with fsGroup (podman 4.3 crashes on Secret
#    volumes, so a hostPath file root:10001 mode 0440 stands in); the
#    app container ("orders", an image we cannot pull) becomes a small
#    TCP service on 127.0.0.1:8080 with the same securityContext.  Checks:
#    the readiness/liveness probe (GET /healthz on the pod IP, as the
#    kubelet does), the Secret's key is copied to a 0600 file owned by
#    10001 and peerlock runs with that identity, PID 1 is non-root with no
#    capabilities and a read-only root, only 4001 and 9090 answer on the
#    pod IP (the app's port does not).
#
#   contrib/kube-test.sh          (as root; needs the image of
#                                  contrib/container-test.sh, built if
#                                  missing)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# shellcheck source=contrib/container-lib.sh disable=SC1091
. "$top/contrib/container-lib.sh"

K8S_CACHE=${K8S_CACHE:-/var/cache/peerlock-k8s}
KUBECONFORM_VERSION=v0.8.0
KV_VERSION=1.37.0        # kubernetes-validate: its schemas
K8S_VERSION=1.30.0       # the API version the manifests are checked against
IMG=localhost/peerlock:container-test
P=plkt

npass=0
nfail=0
ok() { npass=$((npass + 1)); echo "PASS: $*"; }
bad() { nfail=$((nfail + 1)); echo "FAIL: $*"; }
finish() {
	echo "kubernetes: $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ] && [ "$npass" -gt 0 ]
	exit $?
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kube-test.XXXXXX")
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	podman kube down "$tmp/pod.yaml" >/dev/null 2>&1
	podman pod rm -f -t 0 orders-pod >/dev/null 2>&1
	podman network rm -f "$P-net" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
t0=$(date +%s)

# --- 1. kubeconform against the API schemas ------------------------------------
mkdir -p "$K8S_CACHE"
kc=$K8S_CACHE/bin/kubeconform
if [ ! -x "$kc" ]; then
	command -v go >/dev/null 2>&1 || { bad "go not found"; finish; }
	GOBIN=$K8S_CACHE/bin GOFLAGS=-mod=mod go install \
	    "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" ||
	    { bad "go install kubeconform"; finish; }
fi
# kubernetes-validate's schemas refer to one shared _definitions.json by
# $ref; kubeconform compiles one file per kind and loads no other file, so
# each kind the manifests use is made standalone (every $ref inlined, a
# recursive one left open), as the usual "-standalone-strict" schemas are.
raw=$K8S_CACHE/schemas/v$K8S_VERSION-local-strict
schemas=$K8S_CACHE/schemas/v$K8S_VERSION-standalone-strict
if [ ! -d "$raw" ]; then
	python3 -m pip --version >/dev/null 2>&1 || plc_apt python3-pip
	python3 -m pip download -q --no-deps --only-binary=:all: \
	    "kubernetes-validate==$KV_VERSION" -d "$K8S_CACHE/wheel" ||
	    { bad "pip download kubernetes-validate"; finish; }
	python3 - "$K8S_CACHE" "$KV_VERSION" "v$K8S_VERSION-local-strict" <<'PY' ||
import os, sys, zipfile
cache, ver, want = sys.argv[1:]
z = zipfile.ZipFile(os.path.join(cache, "wheel",
    "kubernetes_validate-%s-py3-none-any.whl" % ver))
pre = "kubernetes_validate/kubernetes-json-schema/%s/" % want
out = os.path.join(cache, "schemas", want)
os.makedirs(out + ".tmp", exist_ok=True)
n = 0
for name in z.namelist():
    if name.startswith(pre) and name.endswith(".json"):
        with open(os.path.join(out + ".tmp", name[len(pre):]), "wb") as f:
            f.write(z.read(name))
        n += 1
if n < 100:
    sys.exit("only %d schemas under %s" % (n, pre))
os.rename(out + ".tmp", out)
PY
	{ bad "schemas from kubernetes-validate"; finish; }
fi
mkdir -p "$schemas"
python3 - "$raw" "$schemas" contrib/kubernetes/*.yaml <<'PY' ||
import json, os, sys, yaml
raw, out, manifests = sys.argv[1], sys.argv[2], sys.argv[3:]
defs = json.load(open(os.path.join(raw, "_definitions.json")))["$defs"]
def inline(node, stack):
    if isinstance(node, list):
        return [inline(x, stack) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if ref is not None:
        name = ref.split("#/$defs/", 1)[1]
        if name in stack:       # recursive type: leave it open
            return {}
        body = inline(defs[name], stack | {name})
        rest = {k: inline(v, stack) for k, v in node.items() if k != "$ref"}
        return {**body, **rest}
    return {k: inline(v, stack) for k, v in node.items()}
for m in manifests:
    for d in yaml.safe_load_all(open(m)):
        if not d:
            continue
        parts = d["apiVersion"].split("/")
        suffix = "-" + parts[0].split(".")[0].lower()
        if len(parts) > 1:
            suffix += "-" + parts[1].lower()
        f = "%s%s.json" % (d["kind"].lower(), suffix)
        dst = os.path.join(out, f)
        if os.path.exists(dst):
            continue
        s = inline(json.load(open(os.path.join(raw, f))), frozenset())
        s.pop("$schema", None)
        json.dump(s, open(dst + ".tmp", "w"))
        os.rename(dst + ".tmp", dst)
PY
	{ bad "standalone schemas"; finish; }
kubeconform() {
	"$kc" -strict -summary -kubernetes-version "$K8S_VERSION" \
	    -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
	    "$@"
}
if kubeconform contrib/kubernetes/*.yaml >"$tmp/kc.out" 2>&1 &&
    grep -q 'Invalid: 0, Errors: 0, Skipped: 0' "$tmp/kc.out"; then
	ok "kubeconform -strict (Kubernetes $K8S_VERSION): $(tail -n 1 "$tmp/kc.out")"
else
	cat "$tmp/kc.out"
	bad "kubeconform contrib/kubernetes"
fi
# The same check must reject a misspelled field and a wrong type.
sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesystm: true/' \
    contrib/kubernetes/peerlock-sidecar.yaml >"$tmp/typo.yaml"
sed 's/replicas: 2/replicas: "two"/' \
    contrib/kubernetes/peerlock-sidecar.yaml >"$tmp/type.yaml"
for f in typo type; do
	kubeconform "$tmp/$f.yaml" >"$tmp/kc-$f.out" 2>&1
	if grep -q 'Invalid: 1, Errors: 0' "$tmp/kc-$f.out"; then
		ok "kubeconform rejects a broken manifest ($f): $(grep -m1 'is invalid' "$tmp/kc-$f.out" | sed 's/.* - at /at /' | cut -c1-120)"
	else
		cat "$tmp/kc-$f.out"
		bad "kubeconform did not reject the broken manifest ($f)"
	fi
done

# --- 2. the pod under podman kube play -------------------------------------------
container_setup || { bad "podman setup"; finish; }
if ! podman image exists "$IMG"; then
	if ! { container_base &&
	    container_image "$IMG" >"$tmp/build.log" 2>&1; }; then
		tail -n 30 "$tmp/build.log"
		bad "image build"
		finish
	fi
fi
key=$(podman run --rm --network none --entrypoint sh "$IMG" -c \
    'peerlock keygen -o /tmp/k >/dev/null && base64 -w0 /tmp/k &&
    echo && peerlock id /tmp/k')
keyb64=$(echo "$key" | sed -n 1p)
keyid=$(echo "$key" | sed -n 2p)
# The manifest's ConfigMap and Deployment, as a Pod that podman can run;
# the identity Secret as kubectl create secret would make it.
# podman 4.3 crashes (nil pointer in VolumeFromSecret) on a Secret volume,
# so the Secret is presented as the kubelet presents it with fsGroup
# 10001 and defaultMode 0400: a file root:10001, mode 0440, in a hostPath.
mkdir -p "$tmp/secret"
echo "$keyb64" | base64 -d >"$tmp/secret/identity.key"
chown 0:10001 "$tmp/secret/identity.key"
chmod 0440 "$tmp/secret/identity.key"
chmod 0755 "$tmp" "$tmp/secret"
python3 - contrib/kubernetes/peerlock-sidecar.yaml "$IMG" "$tmp/secret" \
    >"$tmp/pod.yaml" <<'PY' || { bad "pod manifest"; finish; }
import sys, yaml
src, img, secdir = sys.argv[1:]
docs = [d for d in yaml.safe_load_all(open(src)) if d]
out = []
for d in docs:
    if d["kind"] == "ConfigMap":
        out.append(d)
    elif d["kind"] == "Deployment":
        spec = d["spec"]["template"]["spec"]
        for c in spec["containers"]:
            if c["name"] == "peerlock":
                c["image"] = img
            else:
                # The app: a TCP service on 127.0.0.1:8080 only.
                c["image"] = img
                c.pop("args", None)
                c["command"] = ["perl", "-MIO::Socket::INET", "-e",
                    '$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:8080",'
                    ' Listen => 16, ReuseAddr => 1) or die $!;'
                    ' while ($c = $s->accept) { print $c "hello from behind'
                    ' peerlock\\n"; close $c }']
        out.append({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "orders-pod",
                                 "labels": d["spec"]["template"]["metadata"]["labels"]},
                    "spec": spec})
        for v in spec["volumes"]:
            if "secret" in v:
                del v["secret"]
                v["hostPath"] = {"path": secdir, "type": "Directory"}
yaml.safe_dump_all(out, sys.stdout, sort_keys=False)
PY
podman network create --subnet 10.203.9.0/24 "$P-net" >/dev/null ||
    { bad "network"; finish; }
if podman kube play --network "$P-net" "$tmp/pod.yaml" >"$tmp/play.out" 2>&1; then
	ok "podman kube play (ConfigMap, Pod from the Deployment)"
else
	cat "$tmp/play.out"
	bad "podman kube play"
	finish
fi
pl=orders-pod-peerlock
ip=$(podman inspect --format \
    '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$pl")
# http_status PORT PATH: what the kubelet's httpGet probe sees on the pod IP.
http_status() {
	python3 - "$ip" "$1" "$2" <<'PY'
import socket, sys
ip, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    s = socket.create_connection((ip, port), timeout=3)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
               % (path, ip)).encode())
    print(s.recv(200).split(b"\r\n")[0].decode())
except OSError as e:
    print("error: %s" % e)
PY
}
n=0
st=""
while [ $n -lt 30 ]; do
	st=$(http_status 9090 /healthz)
	case $st in "HTTP/1."?" 200"*) break ;; esac
	n=$((n + 1))
	sleep 1
done
case $st in
"HTTP/1."?" 200"*) ok "probe: GET http://$ip:9090/healthz: $st" ;;
*) podman logs "$pl" 2>&1 | tail -n 20
   bad "probe: GET http://$ip:9090/healthz: '$st'" ;;
esac
st=$(http_status 9090 /metrics)
case $st in
"HTTP/1."?" 200"*) ok "Prometheus scrape: GET /metrics: $st" ;;
*) bad "GET /metrics: '$st'" ;;
esac
# Encrypted port open, the app's plaintext port closed on the pod IP.
port_open() {
	python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)' \
	    "$ip" "$1" 2>/dev/null
}
if port_open 4001; then ok "pod IP:4001 (p2p) accepts"
else bad "pod IP:4001 does not accept"; fi
if port_open 8080; then bad "the app's port 8080 is reachable on the pod IP"
else ok "the app's port 8080 is not reachable on the pod IP"; fi

# The Secret as the sidecar sees it, and the 0600 copy peerlock uses.
sec=$(podman exec "$pl" stat -c '%a %u %g' /run/secrets/peerlock/identity.key)
cp=$(podman exec "$pl" stat -c '%a %u %g' /var/lib/peerlock/identity.key)
if [ "$sec" = "440 0 10001" ]; then
	ok "the Secret's key as the kubelet mounts it with fsGroup: 0440 root:10001"
else bad "Secret file: expected '440 0 10001', got '$sec'"; fi
if [ "$cp" = "600 10001 10001" ]; then
	ok "identity copied from the Secret: 0600, owner 10001"
else bad "identity copy: expected '600 10001 10001', got '$cp'"; fi
if podman logs "$pl" 2>&1 | grep -q "peer id $keyid"; then
	ok "peerlock runs with the Secret's identity $keyid"
else
	podman logs "$pl" 2>&1 | tail -n 10
	bad "peerlock does not run with the Secret's identity $keyid"
fi
pid=$(podman inspect --format '{{.State.Pid}}' "$pl")
stf=/proc/$pid/status
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$stf")
caps=$(awk '/^Cap(Prm|Eff|Bnd|Amb):/ { printf "%s", $2 }' "$stf" | tr -d 0)
nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "$stf")
if [ "$(cat "/proc/$pid/comm")" = peerlock ] &&
    [ "$uids" = "10001 10001 10001 10001" ] && [ -z "$caps" ] &&
    [ "$nnp" = 1 ]; then
	ok "sidecar PID 1: peerlock, uid 10001, no capabilities, no_new_privs"
else bad "sidecar PID 1: uid '$uids' caps '$caps' nnp '$nnp'"; fi
if podman exec "$pl" sh -c ': >/usr/local/bin/x' 2>/dev/null; then
	bad "root filesystem is writable"
else ok "readOnlyRootFilesystem holds"; fi
rr=$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$pl")
[ "$rr" = true ] || bad "ReadonlyRootfs is '$rr'"

echo "INFO: total $(($(date +%s) - t0)) s"
finish
