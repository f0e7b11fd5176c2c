#!/usr/bin/python3
"""S3 load benchmark for the gateway (issue 5), with the object pipeline alone as baseline.

Starts `mosaic dev --dir TMP --port 0` (6 nodes, 4+2), then for each workload
(16 x 64 MiB with 4 in parallel; 200 x 64 KiB with 8 in parallel):
  - through the gateway: PUT all, then GET all (bytes checked), each on keep-alive
    connections, SigV4 header auth with UNSIGNED-PAYLOAD (so that the client's hashing does
    not compete with the gateway for the 2 cores);
  - the baseline: bench/load pipeline_load, the same objects through client::Pipeline over
    the same nodes, no HTTP.
Prints MiB/s, ops/s, p50/p99 latency, the gateway's peak RSS (VmHWM), and gateway/pipeline
ratios; --markdown prints the table for docs/performance.md.

  /usr/bin/python3 bench/load/s3_load.py --mosaic build/mosaic \
      --pipeline-load build/bench/load/pipeline_load [--markdown]
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "integration", "s3"))
import harness  # noqa: E402  (the integration tests' `mosaic dev` driver)

WORKLOADS = [  # (name, size, count, parallel)
    ("64 MiB", 64 << 20, 16, 4),
    ("64 KiB", 64 << 10, 200, 8),
]


def start_dev(mosaic, dev_args=()):
    """`mosaic dev` in a new temporary folder, started as the integration tests start it;
    returns the harness.DevSystem (env, description, gateway; cleanup() stops and removes)."""
    harness.BINARY = os.path.abspath(mosaic)
    return harness.DevSystem(dev_args=dev_args).start()


def object_bytes(size, i):
    block = bytes(((j * 131) ^ i) & 0xFF for j in range(65536))
    return (block * (size // len(block) + 1))[:size]


class Client:
    """One keep-alive connection that signs requests with SigV4 (UNSIGNED-PAYLOAD)."""

    def __init__(self, env):
        self.endpoint = env["AWS_ENDPOINT_URL"]
        host = self.endpoint.split("//", 1)[1]
        self.conn = http.client.HTTPConnection(host, timeout=300)
        self.auth = SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"],
                                          env["AWS_SECRET_ACCESS_KEY"]), "s3", "us-east-1")

    def request(self, method, path, body=None):
        headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        req = AWSRequest(method=method, url=self.endpoint + path, headers=headers)
        self.auth.add_auth(req)
        self.conn.request(method, path, body=body, headers=dict(req.headers.items()))
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:300]))
        return data


def run_phase(env, op, count, parallel):
    latencies = [0.0] * count
    lock = threading.Lock()
    state = {"next": 0}
    errors = []

    def worker():
        client = Client(env)
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= count:
                return
            t0 = time.perf_counter()
            try:
                op(client, i)
            except Exception as e:  # reported after the phase
                errors.append(e)
                return
            latencies[i] = (time.perf_counter() - t0) * 1000

    threads = [threading.Thread(target=worker) for _ in range(parallel)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    latencies.sort()
    pct = lambda p: latencies[int(p * (len(latencies) - 1) + 0.5)]
    return {"seconds": seconds, "ops_s": count / seconds, "p50_ms": pct(0.5),
            "p99_ms": pct(0.99)}


def gateway_workload(env, name, size, count, parallel):
    bodies = [object_bytes(size, i) for i in range(min(count, 16))]
    bucket = "load-%d" % size
    Client(env).request("PUT", "/" + bucket)

    def put(client, i):
        client.request("PUT", "/%s/obj-%04d" % (bucket, i), bodies[i % len(bodies)])

    def get(client, i):
        data = client.request("GET", "/%s/obj-%04d" % (bucket, i))
        if data != bodies[i % len(bodies)]:
            raise RuntimeError("object %d read back wrong" % i)

    out = {}
    for phase, op in (("put", put), ("get", get)):
        r = run_phase(env, op, count, parallel)
        r["mib_s"] = size * count / (1 << 20) / r["seconds"]
        out[phase] = r
    return out


def pipeline_workload(tool, config, size, count, parallel):
    r = subprocess.run([tool, "--config", config, "--size", str(size), "--count", str(count),
                        "--parallel", str(parallel)], capture_output=True, text=True,
                       timeout=1800)
    if r.returncode != 0:
        sys.exit("pipeline_load failed: " + r.stderr)
    return {j["phase"]: j for j in map(json.loads, r.stdout.splitlines())}


def peak_rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mosaic", required=True)
    parser.add_argument("--pipeline-load", required=True)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    dev = None
    try:
        dev = start_dev(args.mosaic)
        gateway = dev.gateway
        rows = []
        for name, size, count, parallel in WORKLOADS:
            base = pipeline_workload(args.pipeline_load, gateway["config"], size, count,
                                     parallel)
            gw = gateway_workload(dev.env, name, size, count, parallel)
            rss = peak_rss_mib(gateway["pid"])
            for phase in ("put", "get"):
                rows.append((name, count, parallel, phase.upper(), gw[phase], base[phase], rss))
        print_results(rows, args.markdown)
    finally:
        if dev:
            dev.cleanup()


def print_results(rows, markdown):
    header = ("| workload | op | gateway MiB/s | gateway ops/s | p50 ms | p99 ms | "
              "pipeline MiB/s | pipeline ops/s | pipeline p50 / p99 ms | gateway / pipeline | "
              "gateway VmHWM MiB |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, count, parallel, op, gw, base, rss in rows:
        print("| %d × %s, %d parallel | %s | %.0f | %.0f | %.1f | %.1f | %.0f | %.0f | "
              "%.1f / %.1f | %.0f %% | %.0f |"
              % (count, name, parallel, op, gw["mib_s"], gw["ops_s"], gw["p50_ms"],
                 gw["p99_ms"], base["mib_s"], base["ops_s"], base["p50_ms"], base["p99_ms"],
                 100 * gw["mib_s"] / base["mib_s"], rss))
    if not markdown:
        print(json.dumps([{"workload": r[0], "op": r[3], "gateway": r[4], "pipeline": r[5],
                           "gateway_vmhwm_mib": r[6]} for r in rows], indent=1))


if __name__ == "__main__":
    main()
