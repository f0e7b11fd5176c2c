#!/usr/bin/python3
"""Multipart upload and CopyObject benchmark for the gateway (issue 6), with the object
pipeline alone as baseline.

Starts `mosaic dev --dir TMP --port 0` (6 nodes, 4+2), then:
  1. the baseline: bench/load pipeline_load writes 4 x 1 GiB objects in parallel through
     client::Pipeline over the same nodes, no HTTP (it reads them back too; only its put
     figure is used);
  2. 4 x 1 GiB multipart uploads in parallel through the gateway, 8 MiB parts, each upload
     sending its parts over 2 keep-alive connections (8 requests in flight, as awscli's
     default of 10 concurrent requests shared by a few files): MiB/s from the first
     CreateMultipartUpload to the last CompleteMultipartUpload, per-part p50/p99, ratio to
     the baseline. Every UploadPart's ETag is checked against the part's MD5 (computed
     before the clock starts) and sampled ranges of each object are read back and compared;
  3. one 1 GiB PutObject, timed, then a CopyObject of it, timed: the copy's time as a
     fraction of the write's; the copy is checked by HEAD (size, ETag) and sampled ranges.
Requests are signed with SigV4 UNSIGNED-PAYLOAD (the client does not hash the payload, so
that it does not compete with the gateway for the 2 cores). Data is one random 8 MiB block
whose first 16 bytes are replaced by (object, part) in each part, so no object is held in
memory. Prints the figures, the CPU seconds per GiB of this client and of the gateway
(/proc/PID/stat) and the gateway's peak RSS; --markdown prints the table for
docs/performance.md.

  /usr/bin/python3 bench/load/multipart_load.py --mosaic build/mosaic \
      --pipeline-load build/bench/load/pipeline_load [--markdown]
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import struct
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_load  # noqa: E402  (start_dev, pipeline_workload, peak_rss_mib)

MiB = 1 << 20
GiB = 1 << 30
PART = 8 * MiB
OBJECT = 1 * GiB
UPLOADS = 4
CONNECTIONS_PER_UPLOAD = 2
COPY_SOURCE = UPLOADS  # object number of the PutObject that is copied
BUCKET = "multipart-load"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class Data:
    """Object o's part p (0-based): the block with (o, p) in its first 16 bytes."""

    def __init__(self):
        self.block = memoryview(random.Random(6).randbytes(PART))

    def part(self, o, p, size=PART):
        return (struct.pack(">QQ", o, p), self.block[16:size])

    def part_size(self, p):
        return min(PART, OBJECT - p * PART)

    def md5(self, o, p):
        h = hashlib.md5()
        for piece in self.part(o, p, self.part_size(p)):
            h.update(piece)
        return h.hexdigest()

    def range(self, o, start, length):
        out = b""
        while length > 0:
            p, within = divmod(start, PART)
            whole = b"".join(self.part(o, p, self.part_size(p)))
            piece = whole[within:within + length]
            out += piece
            start += len(piece)
            length -= len(piece)
        return out


class Client:
    """One keep-alive connection that signs requests with SigV4 (UNSIGNED-PAYLOAD)."""

    def __init__(self, env):
        self.endpoint = env["AWS_ENDPOINT_URL"]
        self.conn = http.client.HTTPConnection(self.endpoint.split("//", 1)[1], timeout=900)
        self.auth = SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"],
                                          env["AWS_SECRET_ACCESS_KEY"]), "s3", "us-east-1")

    def request(self, method, path, body=None, size=0, headers=None):
        """Sends one request; body is bytes or a tuple of buffers of `size` bytes in all.
        Returns (response headers, response body); raises on a status >= 300 or an
        <Error> in a 200 (CopyObject, CompleteMultipartUpload)."""
        headers = dict(headers or {}, **{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        if body is not None:
            headers["Content-Length"] = str(size if isinstance(body, tuple) else len(body))
        req = AWSRequest(method=method, url=self.endpoint + path, headers=headers)
        self.auth.add_auth(req)
        self.conn.request(method, path, body=body, headers=dict(req.headers.items()))
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300 or data.startswith(b"<?xml") and b"<Error>" in data[:200]:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:300]))
        return r, data


def key_path(o):
    return "/%s/obj-%d" % (BUCKET, o)


def multipart_upload(env, data, o, md5s, part_ms):
    """Object o as a multipart upload, its parts over CONNECTIONS_PER_UPLOAD connections."""
    _, xml = Client(env).request("POST", key_path(o) + "?uploads")
    upload_id = ET.fromstring(xml).find(NS + "UploadId").text
    query = "uploadId=" + urllib.parse.quote(upload_id, safe="")
    parts = OBJECT // PART + (OBJECT % PART > 0)
    etags = [None] * parts
    lock = threading.Lock()
    state = {"next": 0}
    errors = []

    def sender():
        client = Client(env)
        while not errors:
            with lock:
                p = state["next"]
                state["next"] += 1
            if p >= parts:
                return
            t0 = time.perf_counter()
            try:
                r, _ = client.request("PUT", "%s?partNumber=%d&%s" % (key_path(o), p + 1, query),
                                      data.part(o, p, data.part_size(p)), data.part_size(p))
            except Exception as e:  # reported after the upload
                errors.append(e)
                return
            part_ms.append((time.perf_counter() - t0) * 1000)
            etags[p] = r.getheader("ETag")
            if etags[p] != '"%s"' % md5s[(o, p)]:
                errors.append(RuntimeError("part %d of object %d: ETag %s, MD5 %s"
                                           % (p + 1, o, etags[p], md5s[(o, p)])))

    threads = [threading.Thread(target=sender) for _ in range(CONNECTIONS_PER_UPLOAD)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    body = "<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
        "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (p + 1, e)
        for p, e in enumerate(etags))
    _, xml = Client(env).request("POST", key_path(o) + "?" + query, body.encode())
    etag = ET.fromstring(xml).find(NS + "ETag").text
    if not etag.endswith('-%d"' % parts):
        raise RuntimeError("object %d: multipart ETag %s" % (o, etag))


def check_samples(env, data, o, path):
    """Reads sampled ranges (across part boundaries, the start and the end) and compares."""
    client = Client(env)
    rng = random.Random(o)
    starts = [0, OBJECT - 70000, PART - 1000, OBJECT // PART // 2 * PART - 5] + \
        [rng.randrange(OBJECT - 100000) for _ in range(4)]
    for start in starts:
        length = min(100000, OBJECT - start)
        _, got = client.request("GET", path, headers={
            "Range": "bytes=%d-%d" % (start, start + length - 1)})
        if got != data.range(o, start, length):
            raise RuntimeError("%s: bytes %d+%d read back wrong" % (path, start, length))


def cpu_seconds(pid=None):
    """CPU time (user + system) of this process, or of process pid from /proc."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def multipart_phase(env, data, gateway_pid):
    md5s = {}
    with ThreadPoolExecutor(2) as pool:  # hashlib releases the GIL
        keys = [(o, p) for o in range(UPLOADS) for p in range(OBJECT // PART)]
        for k, digest in zip(keys, pool.map(lambda k: data.md5(*k), keys)):
            md5s[k] = digest
    part_ms = []
    cpu0 = (cpu_seconds(), cpu_seconds(gateway_pid))
    start = time.perf_counter()
    with ThreadPoolExecutor(UPLOADS) as pool:
        for f in [pool.submit(multipart_upload, env, data, o, md5s, part_ms)
                  for o in range(UPLOADS)]:
            f.result()
    seconds = time.perf_counter() - start
    gib = UPLOADS * OBJECT / GiB
    client_cpu = (cpu_seconds() - cpu0[0]) / gib
    gateway_cpu = (cpu_seconds(gateway_pid) - cpu0[1]) / gib
    for o in range(UPLOADS):
        check_samples(env, data, o, key_path(o))
    part_ms.sort()
    pct = lambda p: part_ms[int(p * (len(part_ms) - 1) + 0.5)]
    return {"seconds": seconds, "mib_s": UPLOADS * OBJECT / MiB / seconds,
            "part_p50_ms": pct(0.5), "part_p99_ms": pct(0.99), "parts": len(part_ms),
            "client_cpu_s_per_gib": client_cpu, "gateway_cpu_s_per_gib": gateway_cpu}


def copy_phase(env, data, gateway_pid):
    client = Client(env)
    o = COPY_SOURCE
    pieces = tuple(x for p in range(OBJECT // PART) for x in data.part(o, p))
    cpu0 = (cpu_seconds(), cpu_seconds(gateway_pid))
    t0 = time.perf_counter()
    client.request("PUT", key_path(o), pieces, OBJECT)
    put_s = time.perf_counter() - t0
    client_cpu = (cpu_seconds() - cpu0[0]) / (OBJECT / GiB)
    gateway_cpu = (cpu_seconds(gateway_pid) - cpu0[1]) / (OBJECT / GiB)
    t0 = time.perf_counter()
    client.request("PUT", key_path(o) + "-copy", headers={
        "x-amz-copy-source": key_path(o)})
    copy_s = time.perf_counter() - t0
    heads = [client.request("HEAD", p)[0] for p in (key_path(o), key_path(o) + "-copy")]
    for name in ("Content-Length", "ETag"):
        if heads[0].getheader(name) != heads[1].getheader(name):
            raise RuntimeError("copy's %s %s, source's %s" % (
                name, heads[1].getheader(name), heads[0].getheader(name)))
    check_samples(env, data, o, key_path(o) + "-copy")
    return {"put_s": put_s, "copy_s": copy_s, "put_mib_s": OBJECT / MiB / put_s,
            "copy_mib_s": OBJECT / MiB / copy_s, "put_client_cpu_s_per_gib": client_cpu,
            "put_gateway_cpu_s_per_gib": gateway_cpu}


def main():
    global OBJECT
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mosaic", required=True)
    parser.add_argument("--pipeline-load", required=True)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--object-mib", type=int, default=OBJECT // MiB,
                        help="object size (a multiple of 8; smaller for a quick try)")
    args = parser.parse_args()
    OBJECT = args.object_mib * MiB
    if OBJECT <= 0 or OBJECT % PART:
        sys.exit("--object-mib must be a positive multiple of 8")
    dev = None
    try:
        dev = s3_load.start_dev(args.mosaic)
        env, gateway = dev.env, dev.gateway
        began = time.perf_counter()
        base = s3_load.pipeline_workload(args.pipeline_load, gateway["config"], OBJECT,
                                         UPLOADS, UPLOADS)["put"]
        data = Data()
        Client(env).request("PUT", "/" + BUCKET)
        mp = multipart_phase(env, data, gateway["pid"])
        cp = copy_phase(env, data, gateway["pid"])
        rss = s3_load.peak_rss_mib(gateway["pid"])
        print_results(base, mp, cp, rss, time.perf_counter() - began, args.markdown)
    finally:
        if dev:
            dev.cleanup()


def print_results(base, mp, cp, rss, total_s, markdown):
    print("| operation | gateway | baseline | ratio |")
    print("|---|---:|---:|---:|")
    size = "%d MiB" % (OBJECT // MiB) if OBJECT % GiB else "%d GiB" % (OBJECT // GiB)
    print("| %d × %s multipart upload, 8 MiB parts, %d connections each, in parallel | "
          "%.0f MiB/s (part p50 %.0f ms, p99 %.0f ms) | pipeline write %d × %s in "
          "parallel: %.0f MiB/s | %.0f %% |"
          % (UPLOADS, size, CONNECTIONS_PER_UPLOAD, mp["mib_s"], mp["part_p50_ms"],
             mp["part_p99_ms"], UPLOADS, size, base["mib_s"], 100 * mp["mib_s"] / base["mib_s"]))
    print("| CopyObject of a %s object | %.1f ms | its PutObject: %.2f s (%.0f MiB/s) | "
          "%.2g %% |" % (size, 1000 * cp["copy_s"], cp["put_s"], cp["put_mib_s"],
                         100 * cp["copy_s"] / cp["put_s"]))
    print("\nCPU s per GiB, multipart: client %.2f, gateway %.2f; single PutObject: client "
          "%.2f, gateway %.2f. Gateway VmHWM %.0f MiB; whole run %.0f s."
          % (mp["client_cpu_s_per_gib"], mp["gateway_cpu_s_per_gib"],
             cp["put_client_cpu_s_per_gib"], cp["put_gateway_cpu_s_per_gib"], rss, total_s))
    if not markdown:
        print(json.dumps({"pipeline_put": base, "multipart": mp, "copy": cp,
                          "gateway_vmhwm_mib": rss, "run_s": total_s}, indent=1))


if __name__ == "__main__":
    main()
