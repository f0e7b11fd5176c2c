#!/usr/bin/python3
"""Provider-loss drill at scale (issue 7): time from a provider's loss to full redundancy.

Starts `mosaic dev --providers 7 --node-down-after 2s --port 0` (7 providers of one node,
4+2) in a temporary folder under /var/tmp, then:
  1. the raw baseline, in the same run and before any load: bench/client/repair_bench's
     BM_RebuildShards alone (one lost shard of a 4 MiB stripe rebuilt from shards in memory,
     one thread), its bytes_per_second;
  2. uploads --gib GiB as 256 MiB objects, 4 in parallel (raw http.client, SigV4 with
     UNSIGNED-PAYLOAD; every object is one random 8 MiB block repeated, with the object's
     number in its first bytes);
  3. SIGKILLs provider-a's node and deletes its data folder, then polls the gateway's
     /metrics (every 0.25 s, at most --max-wait s) until mosaic_gateway_repaired_shards_total
     > 0 (first repair: the loss was detected) and mosaic_gateway_repair_backlog == 0 (full
     redundancy); the repair rate is mosaic_gateway_repaired_bytes_total over the time from
     the first repaired shard to the empty backlog;
     Meanwhile one client PUTs and GETs 1 MiB objects back to back (a GET of the last one
     PUT), to show that the gateway still serves while it repairs: their count and latency
     during the repair; and the gateway's CPU seconds over the repair (/proc/PID/stat);
  4. kills provider-b's and provider-c's nodes too and reads --verify objects back in full
     through the gateway (MD5 compared): with 4+2 over 7 providers, that only works if the
     first loss was repaired.
--repair-bytes-per-second and --repair-stripes-in-flight put those keys in the gateway's
config and restart the gateway before the upload (default: the gateway's own, 64 MiB/s and
8). --perf-record FILE runs `perf record -g` on the gateway from the first repaired shard
for --perf-seconds (default 10); --sample-threads tallies the gateway's threads by state
(running, or the kernel function they wait in) every 20 ms during the repair, as threads
per sample. --markdown prints a table.

  /usr/bin/python3 bench/load/repair_drill.py --mosaic build/mosaic \
      --repair-bench build/bench/client/repair_bench [--gib 10] [--markdown]
"""

import argparse
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MIB = 1 << 20
OBJECT = 256 * MIB
BLOCK = 8 * MIB
BUCKET = "drill"


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "integration", "s3"))
import harness  # noqa: E402  (the integration tests' `mosaic dev` driver)


class Dev(harness.DevSystem):
    """`mosaic dev` with 7 providers and a 2 s node_down_after, in `directory`."""

    def __init__(self, mosaic, directory):
        harness.BINARY = os.path.abspath(mosaic)
        super().__init__(directory, dev_args=("--providers", "7", "--node-down-after", "2s"))

    def node(self, provider):
        return [p for p in self.processes("node") if p["provider"] == provider][0]

    def restart_gateway(self, first_line):
        """Puts first_line at the top of the gateway's config (before any [[node]] header)
        and restarts the gateway (SIGKILL)."""
        path = self.gateway["config"]
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(first_line + "\n" + text)
        super().restart_gateway()
        self.env["AWS_ENDPOINT_URL"] = self.endpoint

    def kill_node(self, provider, destroy=False):
        node = self.node(provider)
        super().kill_node(node, destroy)
        return node


class Client:
    """One keep-alive connection that signs requests with SigV4 (UNSIGNED-PAYLOAD)."""

    def __init__(self, env):
        self.endpoint = env["AWS_ENDPOINT_URL"]
        self.conn = http.client.HTTPConnection(self.endpoint.split("//", 1)[1], timeout=600)
        self.auth = SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"],
                                          env["AWS_SECRET_ACCESS_KEY"]), "s3", "us-east-1")

    def send(self, method, path, body=None, length=0):
        headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
        if body is not None:
            headers["Content-Length"] = str(length)
        req = AWSRequest(method=method, url=self.endpoint + path, headers=headers)
        self.auth.add_auth(req)
        self.conn.request(method, path, body=body, headers=dict(req.headers.items()))
        return self.conn.getresponse()

    def request(self, method, path, body=None, length=0):
        r = self.send(method, path, body, length)
        data = r.read()
        if r.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:300]))
        return data

    def get_md5(self, path):
        r = self.send("GET", path)
        if r.status >= 300:
            raise RuntimeError("GET %s: %d %s" % (path, r.status, r.read()[:300]))
        h, n = hashlib.md5(), 0
        while True:
            chunk = r.read(BLOCK)
            if not chunk:
                return h.hexdigest(), n
            h.update(chunk)
            n += len(chunk)


class Objects:
    """Object i: the random block with i in its first 8 bytes, then the block repeated."""

    def __init__(self):
        self.block = os.urandom(BLOCK)

    def chunks(self, i):
        yield i.to_bytes(8, "big") + self.block[8:]
        for _ in range(OBJECT // BLOCK - 1):
            yield self.block

    def md5(self, i):
        h = hashlib.md5()
        for c in self.chunks(i):
            h.update(c)
        return h.hexdigest()


def key(i):
    return "/%s/obj-%05d" % (BUCKET, i)


def parallel(env, count, threads, op):
    lock, state, errors = threading.Lock(), {"next": 0}, []

    def worker():
        client = Client(env)
        while not errors:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= count:
                return
            try:
                op(client, i)
            except Exception as e:  # raised after the join
                errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]
    return time.monotonic() - start


def baseline(tool, mosaic, directory):
    out = os.path.join(directory, "rebuild.json")
    env = dict(os.environ, MOSAIC_BINARY=os.path.abspath(mosaic), MOSAIC_BENCH_DIR=directory,
               MOSAIC_BENCH_OBJECT_MIB="16")
    r = subprocess.run([tool, "--benchmark_filter=BM_RebuildShards",
                        "--benchmark_min_time=2", "--benchmark_out=" + out,
                        "--benchmark_out_format=json"], env=env, capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("repair_bench failed: " + r.stderr[-2000:])
    with open(out) as f:
        runs = json.load(f)["benchmarks"]
    return [b for b in runs if b["name"].startswith("BM_RebuildShards")][0]["bytes_per_second"]


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Traffic(threading.Thread):
    """PUTs then GETs 1 MiB objects (MD5 checked) back to back until stop(): S3 traffic
    served during the repair. stop() gives counts and latencies."""

    def __init__(self, env):
        super().__init__(daemon=True)
        self.env, self.stopping, self.latencies, self.errors = env, False, [], []

    def run(self):
        client, body, i = Client(self.env), os.urandom(MIB), 0
        want = hashlib.md5(body).hexdigest()
        while not self.stopping:
            path = "/%s/live-%05d" % (BUCKET, i)
            try:
                start = time.monotonic()
                client.request("PUT", path, body, MIB)
                mid = time.monotonic()
                digest, n = client.get_md5(path)
                end = time.monotonic()
                if n != MIB or digest != want:
                    raise RuntimeError("%s read back wrong" % path)
                self.latencies.append((mid - start, end - mid))
            except Exception as e:  # reported, and the drill fails
                self.errors.append(str(e))
                client = Client(self.env)
            i += 1

    def stop(self):
        self.stopping = True
        self.join(timeout=120)
        puts = sorted(p for p, _ in self.latencies)
        gets = sorted(g for _, g in self.latencies)
        med = lambda v: v[len(v) // 2] * 1000 if v else None
        return {"pairs": len(self.latencies), "errors": self.errors[:3],
                "put_p50_ms": med(puts), "put_max_ms": puts[-1] * 1000 if puts else None,
                "get_p50_ms": med(gets), "get_max_ms": gets[-1] * 1000 if gets else None}


class ThreadSampler(threading.Thread):
    """Every 20 ms, what each thread of `pid` is doing: its name, and running (R) or the
    kernel function it sleeps in (/proc/PID/task/TID/wchan). Tallied until stop()."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.tally, self.samples = pid, {}, 0
        self.done = threading.Event()

    def run(self):
        base = "/proc/%d/task" % self.pid
        while not self.done.wait(0.02):
            self.samples += 1
            try:
                tids = os.listdir(base)
            except OSError:
                return
            for tid in tids:
                try:
                    with open("%s/%s/comm" % (base, tid)) as f:
                        comm = f.read().strip()
                    with open("%s/%s/stat" % (base, tid)) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                    with open("%s/%s/wchan" % (base, tid)) as f:
                        wchan = f.read().strip() or "-"
                except OSError:
                    continue
                what = "running" if state == "R" else wchan
                self.tally[(comm, what)] = self.tally.get((comm, what), 0) + 1

    def stop(self):
        self.done.set()
        self.join()
        top = sorted(self.tally.items(), key=lambda kv: -kv[1])[:25]
        return {"samples": self.samples,
                "threads_by_state": ["%s %s: %.2f" % (c, w, n / max(self.samples, 1))
                                     for (c, w), n in top]}


def drill(args, directory):
    result = {"gib": args.gib, "objects": args.gib * 1024 * MIB // OBJECT}
    result["rebuild_baseline_Bps"] = baseline(args.repair_bench, args.mosaic, directory)
    dev = Dev(args.mosaic, directory)
    try:
        dev.start()
        lines = []
        if args.repair_bytes_per_second:
            lines.append('repair_bytes_per_second = "%s"' % args.repair_bytes_per_second)
        if args.repair_stripes_in_flight:
            lines.append("repair_stripes_in_flight = %d" % args.repair_stripes_in_flight)
        if lines:
            dev.restart_gateway("\n".join(lines))
        result["repair_limit"] = args.repair_bytes_per_second or "64MiB (default)"
        result["stripes_in_flight"] = args.repair_stripes_in_flight or "8 (default)"
        objects = Objects()
        Client(dev.env).request("PUT", "/" + BUCKET)
        count = result["objects"]

        def put(client, i):
            client.request("PUT", key(i), objects.chunks(i), OBJECT)

        seconds = parallel(dev.env, count, 4, put)
        result["upload_s"] = seconds
        result["upload_MiBps"] = count * OBJECT / MIB / seconds
        m = dev.metrics()
        if m.get("mosaic_gateway_repair_backlog", -1) != 0:
            raise RuntimeError("repair backlog before the loss: %s" % m)
        before_shards = m.get("mosaic_gateway_repaired_shards_total", 0)
        before_bytes = m.get("mosaic_gateway_repaired_bytes_total", 0)

        # The loss: provider-a's node and its data, for good.
        result["load_before"] = os.getloadavg()[0]
        lost = dev.kill_node("provider-a", destroy=True)
        t_kill = time.monotonic()
        t_first = None
        recorder = sampler = None
        deadline = t_kill + args.max_wait
        while True:
            now = time.monotonic()
            if now > deadline:
                raise RuntimeError("no full redundancy after %d s: %s" % (args.max_wait, m))
            m = dev.metrics()
            shards = m.get("mosaic_gateway_repaired_shards_total", 0) - before_shards
            if shards > 0 and t_first is None:
                t_first = now
                cpu_first = cpu_seconds(dev.gateway["pid"])
                traffic = Traffic(dev.env)
                traffic.start()
                if args.sample_threads:
                    sampler = ThreadSampler(dev.gateway["pid"])
                    sampler.start()
                if args.perf_record:
                    recorder = subprocess.Popen(
                        ["perf", "record", "-g", "-F", "499", "-o", args.perf_record, "-p",
                         str(dev.gateway["pid"]), "--", "sleep", str(args.perf_seconds)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if shards > 0 and m.get("mosaic_gateway_repair_backlog", -1) == 0:
                t_full = now
                result["gateway_cpu_s"] = cpu_seconds(dev.gateway["pid"]) - cpu_first
                result["served_during_repair"] = traffic.stop()
                result["load_after"] = os.getloadavg()[0]
                break
            time.sleep(0.25)
        if sampler is not None:
            result["gateway_threads"] = sampler.stop()
        if recorder is not None:
            recorder.wait(timeout=args.perf_seconds + 60)
        rebuilt = m.get("mosaic_gateway_repaired_bytes_total", 0) - before_bytes
        result.update(lost=lost["id"], detect_s=t_first - t_kill, full_s=t_full - t_kill,
                      repaired_shards=int(shards), repaired_bytes=int(rebuilt),
                      repair_failures=m.get("mosaic_gateway_repair_failures_total"),
                      repair_commits=m.get("mosaic_gateway_repair_commits_total"))
        if result["served_during_repair"]["errors"]:
            raise RuntimeError("S3 traffic failed during the repair: %s"
                               % result["served_during_repair"]["errors"])
        result["repair_Bps"] = rebuilt / max(t_full - t_first, 1e-9)
        result["ratio"] = result["repair_Bps"] / result["rebuild_baseline_Bps"]
        result["gateway_cores"] = result["gateway_cpu_s"] / max(t_full - t_first, 1e-9)

        # Two more providers go: every sampled object must still read back intact.
        dev.kill_node("provider-b")
        dev.kill_node("provider-c")
        step = max(1, count // args.verify)
        sample = list(range(0, count, step))[:args.verify]
        if count - 1 not in sample:
            sample.append(count - 1)
        expected = {i: objects.md5(i) for i in sample}

        def check(client, j):
            i = sample[j]
            digest, n = client.get_md5(key(i))
            if n != OBJECT or digest != expected[i]:
                raise RuntimeError("%s read back wrong (%d bytes, md5 %s)" % (key(i), n, digest))

        seconds = parallel(dev.env, len(sample), 2, check)
        result.update(verified=len(sample), verify_MiBps=len(sample) * OBJECT / MIB / seconds)
        return result
    except BaseException:
        log = os.path.join(dev.gateway["dir"], "gateway.log") if dev.proc else None
        if log and os.path.exists(log):
            with open(log, "rb") as f:
                sys.stderr.write(f.read()[-3000:].decode(errors="replace") + "\n")
        raise
    finally:
        dev.stop()


def print_result(r, markdown):
    if not markdown:
        print(json.dumps(r, indent=1))
        return
    mb = lambda b: b / 1e6
    print("| measure | value |")
    print("|---|---|")
    rows = [
        ("data", "%d GiB = %d × 256 MiB objects (4+2, 7 providers)" % (r["gib"], r["objects"])),
        ("upload (4 parallel)", "%.0f s, %.0f MiB/s" % (r["upload_s"], r["upload_MiBps"])),
        ("lost", "%s (SIGKILL, data folder deleted)" % r["lost"]),
        ("loss → first repaired shard (detection, `node_down_after` = 2 s)",
         "%.1f s" % r["detect_s"]),
        ("loss → full redundancy (backlog 0)", "%.1f s" % r["full_s"]),
        ("rebuilt", "%d shards, %.0f MB (%.2f GiB)" % (r["repaired_shards"],
                                                      mb(r["repaired_bytes"]),
                                                      r["repaired_bytes"] / (1 << 30))),
        ("repair job rate (first repaired shard → backlog 0), limit %s, %s stripes in flight"
         % (r["repair_limit"], r["stripes_in_flight"]),
         "%.1f MB/s" % mb(r["repair_Bps"])),
        ("baseline: BM_RebuildShards, same run (in memory, one thread)",
         "%.0f MB/s" % mb(r["rebuild_baseline_Bps"])),
        ("repair job / baseline", "%.3f" % r["ratio"]),
        ("gateway CPU during the repair", "%.1f s, %.2f cores" % (r["gateway_cpu_s"],
                                                                r["gateway_cores"])),
        ("metadata commits of repaired stripes", str(r["repair_commits"])),
        ("served during the repair: 1 MiB PUT + GET pairs (p50 / max ms)",
         "%d (PUT %s / %s, GET %s / %s)" % tuple(
             [r["served_during_repair"]["pairs"]] +
             ["%.0f" % v if v is not None else "-" for v in (
                 r["served_during_repair"]["put_p50_ms"], r["served_during_repair"]["put_max_ms"],
                 r["served_during_repair"]["get_p50_ms"], r["served_during_repair"]["get_max_ms"])])),
        ("load average (1 min) at the loss / at full redundancy",
         "%.1f / %.1f" % (r["load_before"], r["load_after"])),
        ("verified after 2 more providers lost", "%d objects, MD5 equal, read at %.0f MiB/s"
         % (r["verified"], r["verify_MiBps"])),
    ]
    for name, value in rows:
        print("| %s | %s |" % (name, value))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mosaic", required=True)
    parser.add_argument("--repair-bench", required=True)
    parser.add_argument("--gib", type=int, default=10)
    parser.add_argument("--verify", type=int, default=4, help="objects read back at the end")
    parser.add_argument("--max-wait", type=int, default=1800)
    parser.add_argument("--repair-bytes-per-second", default="",
                        help='e.g. "1GiB"; default: the gateway\'s (64 MiB/s)')
    parser.add_argument("--repair-stripes-in-flight", type=int, default=0,
                        help="default: the gateway's (8)")
    parser.add_argument("--perf-record", default="", help="perf.data file for the gateway")
    parser.add_argument("--perf-seconds", type=int, default=10)
    parser.add_argument("--sample-threads", action="store_true",
                        help="tally the gateway's threads by state during the repair")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="mosaic-repair-drill-", dir="/var/tmp")
    try:
        result = drill(args, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print_result(result, args.markdown)


if __name__ == "__main__":
    main()
