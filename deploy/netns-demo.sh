#!/usr/bin/env bash
# Mosaic across "hosts" on one machine: network namespaces stand for separate servers.
# Three providers (a, b, c) run two storage nodes each; a group runs a gateway. Everything
# is set up with the onboarding commands only, in the order the guides give them:
#   provider:  mosaic node init, mosaic node --config, mosaic node tenant add (-> invite)
#   group:     mosaic gateway init, mosaic gateway node add INVITE, mosaic gateway --config,
#              mosaic key create
# Gateway -> node traffic is TLS with each node's certificate pinned, and the S3 endpoint
# serves HTTPS (a certificate made with openssl). Then an S3 round trip (curl --aws-sigv4); an invite with a wrong fingerprint is shown refused; with --cut
# PROVIDER that provider's links go down and the object is read again, degraded.
#
#   deploy/netns-demo.sh [--cut a|b|c] [--keep] [MOSAIC_BINARY]
#   deploy/netns-demo.sh --cleanup     # removes what an interrupted run left behind
#
# The binary is the argument, else $MOSAIC_BINARY, else build/mosaic. Needs root (ip netns).
# Work files go to $DEMO_DIR (default: a new temporary folder; removed unless --keep).
# Addresses: 10.77.0.0/24 on a bridge in its own namespace; nothing touches the host's
# network. Every namespace, veth pair and process it made is gone when it exits.
set -euo pipefail

PREFIX=mosaic-demo-
NET=${PREFIX}net
PROVIDERS=(a b c)
NODES=(a-1 a-2 b-1 b-2 c-1 c-2)
declare -A ADDR=([gw]=10.77.0.10 [a-1]=10.77.0.11 [a-2]=10.77.0.12 [b-1]=10.77.0.21
                 [b-2]=10.77.0.22 [c-1]=10.77.0.31 [c-2]=10.77.0.32)

say() { printf '\n== %s\n' "$*"; }
exec 3>&1  # the trace of commands goes to the terminal even when their output is captured
run() { printf '[%s] %s\n' "$1" "${*:2}" >&3; ip netns exec "$PREFIX$1" "${@:2}"; }

demo_namespaces() { ip netns list | awk -v p="$PREFIX" 'index($1, p) == 1 {print $1}'; }
demo_pids() {  # every process inside a demo namespace
  local ns
  for ns in $(demo_namespaces); do ip netns pids "$ns" 2>/dev/null || true; done
}

# Stops every process in the demo's namespaces (SIGTERM, up to 15 s, then SIGKILL) and
# deletes the namespaces, which takes their veth pairs with them.
cleanup() {
  local ns pids i
  pids=$(demo_pids)
  if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 150); do [ -z "$(demo_pids)" ] && break; sleep 0.1; done
    pids=$(demo_pids)
    if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null || true; sleep 0.2; fi
  fi
  for ns in $(demo_namespaces); do ip netns del "$ns"; done
  wait 2>/dev/null || true
}

cut=""
keep=0
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cleanup) [ "$(id -u)" -eq 0 ] || { echo "netns-demo: needs root" >&2; exit 1; }
               cleanup; exit 0 ;;
    --cut) cut="${2:?--cut needs a provider: a, b or c}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) binary="$1"; shift ;;
  esac
done
if [ -n "$cut" ] && [[ ! " ${PROVIDERS[*]} " == *" $cut "* ]]; then
  echo "netns-demo: --cut $cut: the providers are ${PROVIDERS[*]}" >&2; exit 2
fi
[ "$(id -u)" -eq 0 ] || { echo "netns-demo: needs root (network namespaces)" >&2; exit 1; }
MOSAIC=$(readlink -f "${binary:-${MOSAIC_BINARY:-build/mosaic}}")
[ -x "$MOSAIC" ] || { echo "netns-demo: no mosaic executable at $MOSAIC" >&2; exit 1; }
if [ -n "$(demo_namespaces)" ]; then
  echo "netns-demo: namespaces $PREFIX* exist (another run?); remove them with --cleanup" >&2
  exit 1
fi
W=${DEMO_DIR:-$(mktemp -d /tmp/mosaic-netns-demo.XXXXXX)}
mkdir -p "$W"
W=$(readlink -f "$W")
finish() {
  local rc=$?
  cleanup
  if [ "$keep" -eq 0 ]; then rm -rf "$W"; else echo "work files kept in $W"; fi
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

wait_file() {  # wait_file PATH SECONDS: bounded poll for a file
  local i
  for i in $(seq $(($2 * 10))); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "netns-demo: timed out waiting for $1" >&2; return 1
}

say "network: a bridge in $NET, one namespace per host, 10.77.0.0/24"
ip netns add "$NET"
ip -n "$NET" link add br0 type bridge
ip -n "$NET" link set br0 up
for host in gw "${NODES[@]}"; do
  ip netns add "$PREFIX$host"
  ip -n "$PREFIX$host" link set lo up
  ip link add "v-$host" netns "$NET" type veth peer name eth0 netns "$PREFIX$host"
  ip -n "$NET" link set "v-$host" master br0 up
  ip -n "$PREFIX$host" addr add "${ADDR[$host]}/24" dev eth0
  ip -n "$PREFIX$host" link set eth0 up
done

say "providers: each node made with 'mosaic node init' and started"
for n in "${NODES[@]}"; do
  run "$n" "$MOSAIC" node init --dir "$W/$n" --provider "${n%-*}" --id "$n" \
    --listen 0.0.0.0:7400 --advertise "${ADDR[$n]}:7400" >/dev/null
  ip netns exec "$PREFIX$n" "$MOSAIC" node --config "$W/$n/node.toml" >"$W/$n.log" 2>&1 &
done
for n in "${NODES[@]}"; do wait_file "$W/$n/node.pid" 30; done

say "providers: 'mosaic node tenant add' gives the group a quota and an invite"
mkdir -p "$W/invites"
for n in "${NODES[@]}"; do
  run "$n" "$MOSAIC" node tenant add group --quota 1GiB --config "$W/$n/node.toml" \
    >"$W/invites/$n" 2>/dev/null
  echo "  invite from $n: $(cut -c1-40 "$W/invites/$n")…"
done

say "group: 'mosaic gateway init', then 'mosaic gateway node add INVITE' for each node"
run gw "$MOSAIC" gateway init --dir "$W/gateway" --listen "${ADDR[gw]}:9000" --k 4 --m 2 \
  >/dev/null
GW_CONFIG=$W/gateway/gateway.toml
# An invite whose fingerprint is not the node's certificate (as if a man in the middle
# answered): refused, naming both fingerprints.
forged=$(python3 -c '
import base64, json, sys
b = sys.argv[1].split(":", 1)[1]
d = json.loads(base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)))
d["fingerprint"] = "sha256:" + "0" * 64
print("mosaic-invite-1:" + base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("="))
' "$(cat "$W/invites/a-1")")
if out=$(run gw "$MOSAIC" gateway node add "$forged" --config "$GW_CONFIG" 2>&1); then
  echo "netns-demo: FAILED: an invite with a wrong fingerprint was accepted" >&2; exit 1
fi
echo "$out" | tail -n 1
echo "wrong fingerprint refused"
for n in "${NODES[@]}"; do
  run gw "$MOSAIC" gateway node add "$(cat "$W/invites/$n")" --config "$GW_CONFIG"
done

say "group: HTTPS for the applications (tls_cert_file, tls_key_file; docs/group-guide.md)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=${ADDR[gw]}" -addext "subjectAltName=IP:${ADDR[gw]}" \
  -keyout "$W/gateway/s3.key" -out "$W/gateway/s3.crt" 2>/dev/null
chmod 600 "$W/gateway/s3.key"
printf 'tls_cert_file = "%s"\ntls_key_file = "%s"\n' "$W/gateway/s3.crt" "$W/gateway/s3.key" \
  | cat - "$GW_CONFIG" >"$W/gateway/gateway.toml.new"
mv "$W/gateway/gateway.toml.new" "$GW_CONFIG"
chmod 600 "$GW_CONFIG"

say "group: the gateway, over TLS to the six nodes"
ip netns exec "${PREFIX}gw" "$MOSAIC" gateway --config "$GW_CONFIG" >"$W/gateway.log" 2>&1 &
wait_file "$W/gateway/admin.addr" 30
key=$(run gw "$MOSAIC" key create demo --bucket '*' --allow owner --config "$GW_CONFIG" \
  | tail -n 1)
key_id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$key")
secret=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["secret"])' "$key")

s3() {  # s3 CURL-ARGS...: a SigV4-signed request to the gateway, from the group's host
  ip netns exec "${PREFIX}gw" curl -sS --fail --max-time 60 --cacert "$W/gateway/s3.crt" \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key_id:$secret" "$@"
}
say "S3 round trip over HTTPS: curl --aws-sigv4 PUT and GET of a 3 MiB object"
head -c $((3 << 20)) /dev/urandom >"$W/object"
s3 -X PUT "https://${ADDR[gw]}:9000/demo" -o /dev/null
s3 -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$W/object" "https://${ADDR[gw]}:9000/demo/object" -o /dev/null
s3 "https://${ADDR[gw]}:9000/demo/object" -o "$W/object.back"
cmp "$W/object" "$W/object.back"
echo "round trip ok: $(sha256sum <"$W/object" | cut -c1-16)…"

if [ -n "$cut" ]; then
  say "cut provider $cut: its links go down (ip link set … down)"
  for n in "${NODES[@]}"; do
    [ "${n%-*}" = "$cut" ] && ip -n "$NET" link set "v-$n" down && echo "  $n cut off"
  done
  rm -f "$W/object.back"
  s3 "https://${ADDR[gw]}:9000/demo/object" -o "$W/object.back"
  cmp "$W/object" "$W/object.back"
  echo "degraded read ok without provider $cut"
fi

say "done"
echo "demo ok"
