"""Scrub and garbage against `mosaic dev` (issue 7): chunks corrupted on one node's disk are
reported by the node's scrub and queued for repair by the gateway, and the deep scrub
(`mosaic scrub --wait`) reads every shard; shards left by a gateway killed mid-upload are
deleted by the orphan sweep while a concurrent upload in progress is left alone."""

import http.client
import json
import math
import os
import re
import signal
import socket
import struct
import subprocess
import time
import sys
import unittest
import urllib.request

import harness
from harness import pattern

KiB = 1 << 10
MiB = 1 << 20
RECORD_MAGIC = b"MSCR"  # docs/formats/segment.md: 0x5243534d little-endian


def metric(text, name):
    """Sum of every series of `name` in Prometheus text."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rpartition(" ")[2])
    return total


def node_metrics(node):
    with urllib.request.urlopen("http://%s/metrics" % node["metrics"], timeout=10) as r:
        return r.read().decode()


def used_bytes(dev):
    return sum(metric(node_metrics(n), "mosaic_node_used_bytes") for n in dev.processes("node"))


def presigned_put(client, bucket, key, size):
    """Starts a PUT of `size` declared bytes with a presigned URL of `client` (SigV4);
    returns the open connection, to send the body into."""
    url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key},
                                        ExpiresIn=600)
    hostport, path = url.split("//", 1)[1].split("/", 1)
    host, port = hostport.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.putrequest("PUT", "/" + path, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    return conn


def admin(dev, method, target, gateway=None):
    """An admin API request with the gateway's token (the first gateway's unless `gateway`,
    an entry of dev.processes("gateway"), is given); returns (status, body)."""
    gateway = gateway or dev.gateway
    with open(os.path.join(gateway["dir"], "admin.token")) as f:
        token = f.read().strip()
    host, port = gateway["admin"].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.request(method, target, headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, body


def gateway_metric(dev, name, labels=""):
    """Sum of the gateway's series of `name` (with `labels`); None if it has none."""
    text = urllib.request.urlopen("http://%s/metrics" % dev.gateway["admin"], timeout=10).read()
    total = None
    for line in text.decode().splitlines():
        if line.startswith(name) and labels in line and not line.startswith("#"):
            head = line.rpartition(" ")[0]
            if head == name or head.startswith(name + "{"):
                total = (total or 0.0) + float(line.rpartition(" ")[2])
    return total


def chunk_records(data_dir, tenant=b"dev"):
    """(path, payload offset, payload length) of every chunk record of `tenant`."""
    out = []
    seg_dir = os.path.join(data_dir, "segments")
    for name in sorted(os.listdir(seg_dir)):
        path = os.path.join(seg_dir, name)
        with open(path, "rb") as f:
            data = f.read()
        at = 0
        while at + 256 <= len(data):
            if data[at:at + 4] != RECORD_MAGIC:
                at += 4096
                continue
            length = struct.unpack_from("<Q", data, at + 16)[0]
            tenant_len = data[at + 33]
            if data[at + 104:at + 104 + tenant_len] == tenant and length > 0:
                out.append((path, at + 256, length))
            at += (256 + length + 4095) // 4096 * 4096
    return out


def flip(path, offset):
    fd = os.open(path, os.O_RDWR)
    try:
        b = os.pread(fd, 1, offset)
        os.pwrite(fd, bytes([b[0] ^ 0x5A]), offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def restart_node(dev, node, scrub_interval, change):
    """Stops `node`, runs `change()` on its stopped files, and starts it again on the same
    address with a short scrub interval (dev's is an hour)."""
    os.kill(node["pid"], signal.SIGTERM)
    harness.poll(lambda: not harness.process_running(node["pid"]), 60, what="the node to stop")
    change()
    with open(node["config"]) as f:
        config = f.read()
    config = re.sub(r'listen = "127\.0\.0\.1:0"', 'listen = "%s"' % node["address"], config, 1)
    config = re.sub(r'interval = "[^"]*"', 'interval = "%s"' % scrub_interval, config)
    with open(node["config"], "w") as f:
        f.write(config)
    for name in ("grpc.addr", "metrics.addr"):
        try:
            os.unlink(os.path.join(node["dir"], name))
        except FileNotFoundError:
            pass
    with open(os.path.join(node["dir"], "node-restart.log"), "ab") as log:
        p = subprocess.Popen([harness.BINARY, "node", "--config", node["config"]],
                             stdout=log, stderr=subprocess.STDOUT)
    dev.extra.append(p)
    harness.poll(lambda: os.path.exists(os.path.join(node["dir"], "metrics.addr")), 30,
                 what="the restarted node")
    with open(os.path.join(node["dir"], "metrics.addr")) as f:
        node["metrics"] = f.readline().strip()
    node["pid"] = p.pid


def status_document(dev):
    """GET /admin/v1/status as a dict (status_document.cc, StatusJson)."""
    status, body = admin(dev, "GET", "/admin/v1/status")
    if status != 200:
        raise AssertionError("GET /admin/v1/status answered %d: %s" % (status, body))
    return json.loads(body)


def fully_healthy(dev):
    """The status document when every stripe has all k+m shards healthy, nothing is lost
    and no repair is queued (a complete scan); None otherwise."""
    doc = status_document(dev)
    safety = doc["safety"]
    ok = (safety["complete"] and safety["stripes"] > 0
          and safety["healthy"] == safety["stripes"]
          and not any(safety["missing"].values()) and safety["lost"] == 0
          and doc["backlog"]["repair"]["count"] == 0)
    return doc if ok else None


def chunks_after_first_backup(dev, node):
    """Waits for the gateway's first metadata backup (its cycle at start puts chunks on every
    node), then returns the set of `node`'s chunk records, so that a test can tell the
    chunks of the objects it writes next from the backup's. Use with a long backup lag."""
    harness.poll(lambda: ((status_document(dev).get("backup") or {}).get("last_success_ms")
                          or 0) > 0, 60, interval_s=0.2, what="the first metadata backup")
    return set(chunk_records(node["dir"]))


def at_least_stripes(doc, stripes):
    """`doc` if it is a status document counting at least `stripes` stripes, else None."""
    return doc if doc and doc["safety"]["stripes"] >= stripes else None


def repairer_landed():
    """Whether the repair job (issue 7, another part) is in the source tree under test."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.exists(os.path.join(here, "../../../server/gateway/jobs/repairer.cc"))


def scrub_findings(dev):
    """The scrub findings of GET /admin/v1/scrub and of the console's safety page (the admin's
    session), checked equal; as (source, problem, node, piece, stripe, shard) tuples."""
    status, body = admin(dev, "GET", "/admin/v1/scrub")
    assert status == 200, body
    env = dev.env
    console = harness.ConsoleSession(env["MOSAIC_CONSOLE_URL"], env["MOSAIC_CONSOLE_USER"],
                                     env["MOSAIC_CONSOLE_PASSWORD"])
    page = console.get("/admin/scrub")["findings"]
    found = [(f["source"], f["problem"], f["node"], f["piece"], f["stripe"], f["shard"])
             for f in json.loads(body)["findings"]]
    assert found == [(f["source"], f["problem"], f["node"], f["piece"], f["stripe"], f["shard"])
                     for f in page], (found, page)
    return found


def findings_survive_a_restart(test, count):
    """The `count` node-scrub findings are listed, and still listed once each after the
    gateway restarts (kept in the metadata; before, the list was in memory only)."""
    before = scrub_findings(test.dev)
    test.assertEqual(len(before), count, before)
    test.assertTrue(all(f[0] == "node scrub" and f[1] == "corrupt" for f in before), before)
    test.dev.restart_gateway()
    type(test).s3 = test.dev.client()  # the class's next tests: the S3 port is new too
    # The restarted gateway's findings job runs at once and every 5 s: give it three rounds
    # while the node still reports the chunks, then the list is the same, nothing doubled.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        test.assertEqual(sorted(scrub_findings(test.dev)), sorted(before))
        time.sleep(1)


class CorruptionTest(harness.DevTestCase):
    dev_args = ("--backup-lag", "1h")  # no backup cycle but the first: see below

    def test_corrupt_chunks_are_found_queued_and_objects_read_back(self):
        s3 = self.s3
        victim = self.dev.processes("node")[0]
        # Only the objects' chunks are corrupted (the backup's are not shards of pieces).
        backup_chunks = chunks_after_first_backup(self.dev, victim)
        s3.create_bucket(Bucket="rot")
        sizes = [10 * KiB + 97 * i for i in range(40)] + [5 * MiB + 3, 9 * MiB + 1]
        objects = {"o/%03d" % i: pattern(n, i) for i, n in enumerate(sizes)}
        for key, body in objects.items():
            s3.put_object(Bucket="rot", Key=key, Body=body)

        # 40 one-stripe objects, 2 + 3 stripes of the large ones (4 MiB stripes, 4+2); the
        # status scan is cached for a moment.
        before = harness.poll(lambda: at_least_stripes(fully_healthy(self.dev), 45), 60,
                              interval_s=0.5, what="status to count the objects' stripes")

        # Stop the node, corrupt 1 % (at least 3) of its chunks in their payload, start it
        # again (same address) with a scrub every second.
        flipped = []

        def corrupt():
            records = [r for r in chunk_records(victim["dir"]) if r not in backup_chunks]
            self.assertGreaterEqual(len(records), 40, "the node holds too few chunks")
            count = max(3, math.ceil(len(records) / 100))
            for path, offset, length in records[:: len(records) // count][:count]:
                flip(path, offset + length // 2)
                flipped.append(path)

        restart_node(self.dev, victim, "1s", corrupt)
        count = len(flipped)
        self.assertGreaterEqual(count, 3)

        # The node's scrub reports them, the gateway maps them to stripes and queues them.
        harness.poll(lambda: (gateway_metric(self.dev, "mosaic_gateway_scrub_findings_total")
                              or 0) >= count, 90, interval_s=0.5, what="the findings to be queued")
        self.assertEqual(gateway_metric(self.dev, "mosaic_gateway_scrub_findings_total"), count)

        # Every object reads back byte-identical (the reader falls back to parity).
        for key, body in objects.items():
            got = s3.get_object(Bucket="rot", Key=key)["Body"].read()
            self.assertTrue(got == body, "wrong bytes for " + key)

        if repairer_landed():
            harness.poll(lambda: gateway_metric(self.dev, "mosaic_gateway_repair_backlog") == 0,
                         120, interval_s=0.5, what="the repair backlog to drain")
            self.assertGreaterEqual(
                gateway_metric(self.dev, "mosaic_gateway_repaired_shards_total") or 0, count,
                "the corrupt shards were not rebuilt")
            for key, body in objects.items():
                got = s3.get_object(Bucket="rot", Key=key)["Body"].read()
                self.assertTrue(got == body, "wrong bytes after repair for " + key)
            # Status shows the data fully healthy again, as before the corruption.
            harness.poll(lambda: at_least_stripes(fully_healthy(self.dev),
                                                  before["safety"]["stripes"]),
                         60, interval_s=0.5, what="status to show every stripe healthy")
        findings_survive_a_restart(self, count)

    def test_deep_scrub_reads_every_shard(self):
        s3 = self.s3
        s3.create_bucket(Bucket="deep")
        stripes = 0
        for i, n in enumerate((1, 300 * KiB, 4 * MiB, 4 * MiB + 1)):
            s3.put_object(Bucket="deep", Key="d%d" % i, Body=pattern(n, i))
        status, before = admin(self.dev, "GET", "/admin/v1/scrub")
        self.assertEqual(status, 200, before)
        out = subprocess.run([harness.BINARY, "scrub", "--wait", "--config",
                              self.dev.gateway["config"]],
                             capture_output=True, timeout=300, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("scrub finished", out.stdout)
        status, body = admin(self.dev, "GET", "/admin/v1/scrub")
        progress = json.loads(body)
        self.assertFalse(progress["running"])
        self.assertEqual(progress["run"], json.loads(before)["run"] + 1)
        self.assertEqual(progress["pieces_done"], progress["pieces_total"])
        # Every shard of every stripe of every piece, 4+2: at least this module's objects'
        # (1 + 1 + 1 + 2 stripes), and a whole number of stripes.
        self.assertGreaterEqual(progress["shards_checked"], 5 * 6)
        self.assertEqual(progress["shards_checked"] % 6, 0)
        self.assertEqual(progress["error"], "")
        self.assertGreater(progress["bytes"], 8 * MiB)
        # The CLI's lines (not a terminal: plain lines) carry the run's own counters.
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0], "deep scrub started", out.stdout)
        self.assertEqual(lines[-1], "scrub finished: %d shards checked, %d bad (queued for "
                         "repair), %d on unreachable nodes" % (progress["shards_checked"],
                                                               progress["failures"],
                                                               progress["skipped"]))
        self.assertRegex(lines[-2], r"^scrub: %d/%d pieces, \S+ \S+ read, %d bad shards$"
                         % (progress["pieces_done"], progress["pieces_total"],
                            progress["failures"]))


class OrphanTest(harness.DevTestCase):
    def presigned_put(self, key, size):
        """Starts a PUT of `size` declared bytes; returns the open connection."""
        return presigned_put(self.dev.client(signature_version="s3v4"), "sweep", key, size)

    def test_orphans_of_a_killed_gateway_are_swept_and_an_upload_in_progress_is_not(self):
        s3 = self.s3
        s3.create_bucket(Bucket="sweep")
        kept = {"keep/%d" % i: pattern(200 * KiB * (i + 1), i) for i in range(4)}
        for key, body in kept.items():
            s3.put_object(Bucket="sweep", Key=key, Body=body)

        # A 64 MiB upload cut off by kill -9 of the gateway after 20 MiB: its shards stay.
        base = used_bytes(self.dev)
        body = pattern(64 * MiB, 9)
        conn = self.presigned_put("crashed", len(body))
        conn.send(body[:20 * MiB])
        harness.poll(lambda: used_bytes(self.dev) >= base + 3 * 4 * MiB * 1.5, 60,
                     interval_s=0.2, what="stripes of the crashed upload on the nodes")
        self.dev.restart_gateway()
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        harness.poll(lambda: self.dev.alive(), 30, what="the restarted gateway")
        with_orphans = used_bytes(self.dev)
        self.assertGreater(with_orphans, base + 12 * MiB)

        # An upload in progress across both sweeps, with stripes already on the nodes.
        slow_body = pattern(16 * MiB + 5, 11)
        slow = self.presigned_put("slow", len(slow_body))
        slow.send(slow_body[:10 * MiB])
        harness.poll(lambda: used_bytes(self.dev) >= with_orphans + 2 * 4 * MiB * 1.5, 60,
                     interval_s=0.2, what="stripes of the slow upload on the nodes")

        before_sweeps = used_bytes(self.dev)
        status, first = admin(self.dev, "POST", "/admin/v1/sweep?grace=0s")
        self.assertEqual(status, 200, first)
        first = json.loads(first)
        self.assertEqual(first["nodes_skipped"], 0)
        self.assertEqual(first["deleted"], 0, "nothing is deleted at the sweep that finds it")
        self.assertGreaterEqual(first["candidates"], 3 * 6, first)
        self.assertEqual(gateway_metric(self.dev, "mosaic_gateway_orphan_candidates"),
                         first["candidates"])

        status, second = admin(self.dev, "POST", "/admin/v1/sweep?grace=0s")
        self.assertEqual(status, 200, second)
        second = json.loads(second)
        self.assertEqual(second["deleted"], first["candidates"], second)
        self.assertEqual(second["candidates"], 0, second)
        self.assertEqual(gateway_metric(self.dev, "mosaic_gateway_orphans_deleted_total"),
                         first["candidates"])
        # Each orphan is a shard of a full 4 MiB stripe (4+2): 1 MiB and its tag.
        harness.poll(lambda: used_bytes(self.dev) <= before_sweeps - first["candidates"] * MiB,
                     30, what="the nodes' used bytes to drop by the orphans' size")

        # The upload in progress was not touched: it completes and reads back.
        slow.send(slow_body[10 * MiB:])
        r = slow.getresponse()
        self.assertEqual(r.status, 200, r.read())
        r.read()
        slow.close()
        s3 = self.dev.client()
        got = s3.get_object(Bucket="sweep", Key="slow")["Body"].read()
        self.assertTrue(got == slow_body, "the upload in progress lost data")
        for key, body in kept.items():
            self.assertTrue(s3.get_object(Bucket="sweep", Key=key)["Body"].read() == body, key)
        self.assertEqual(self.error_code(s3.head_object, Bucket="sweep", Key="crashed")[1], 404)

        # A third sweep finds nothing more: every chunk left is referenced.
        status, third = admin(self.dev, "POST", "/admin/v1/sweep?grace=0s")
        third = json.loads(third)
        self.assertEqual((third["candidates"], third["deleted"]), (0, 0), third)

    def test_sweep_refuses_a_bad_grace_and_needs_the_token(self):
        status, _ = admin(self.dev, "POST", "/admin/v1/sweep?grace=soon")
        self.assertEqual(status, 400)
        host, port = self.dev.gateway["admin"].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("POST", "/admin/v1/sweep?grace=0s")
        self.assertEqual(conn.getresponse().status, 401)
        conn.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
