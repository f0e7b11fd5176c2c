"""Faults against `mosaic dev` (issue 5): two of six nodes SIGKILLed during a PUT and GET
storm, and the gateway (then the whole system) restarted on the same folder."""

import hashlib
import os
import signal
import sys
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor

import harness
from harness import pattern

KiB = 1 << 10
MiB = 1 << 20


def size_of(i):
    return (37 * KiB, 700 * KiB, 3 * MiB + 11, 9 * MiB)[i % 4] + i


class NodeLossTest(harness.DevTestCase):
    def test_two_nodes_killed_during_storm(self):
        s3 = self.s3
        s3.create_bucket(Bucket="storm")
        before = {"pre/%03d" % i: pattern(size_of(i), i) for i in range(16)}
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda kv: s3.put_object(Bucket="storm", Key=kv[0], Body=kv[1]),
                          before.items()))

        done = []
        lock = threading.Lock()
        killed = threading.Event()

        def worker(t):
            client = self.dev.client()
            results = []
            for i in range(12):
                n = t * 100 + i
                key = "during/%03d" % n
                body = pattern(size_of(n), n)
                client.put_object(Bucket="storm", Key=key, Body=body)
                results.append((key, hashlib.md5(body).hexdigest()))
                old = "pre/%03d" % ((n * 7) % 16)
                got = client.get_object(Bucket="storm", Key=old)["Body"].read()
                self.assertTrue(got == before[old], "wrong bytes for " + old)
                with lock:
                    done.append(key)
            return results

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(worker, t) for t in range(4)]
            harness.poll(lambda: len(done) >= 6 or any(f.done() for f in futures), 120,
                         what="the storm to start")
            victims = self.dev.processes("node")[1:3]
            for v in victims:
                os.kill(v["pid"], signal.SIGKILL)
            killed.set()
            written = [r for f in futures for r in f.result()]
        self.assertEqual(len(written), 48)
        # Everything is readable with two nodes gone: old objects and those written during.
        for key, md5 in written:
            got = s3.get_object(Bucket="storm", Key=key)["Body"].read()
            self.assertEqual(hashlib.md5(got).hexdigest(), md5, key)
        for key, body in before.items():
            self.assertTrue(s3.get_object(Bucket="storm", Key=key)["Body"].read() == body, key)
        r = s3.get_object(Bucket="storm", Key="pre/003", Range="bytes=1000-2000")
        self.assertEqual(r["Body"].read(), before["pre/003"][1000:2001])


class RestartTest(harness.DevTestCase):
    def put_all(self):
        objects = {}
        for bucket in ("keep-a", "keep-b"):
            self.s3.create_bucket(Bucket=bucket)
            for i in range(12):
                key = "dir %d/obj+%02d" % (i % 3, i)
                body = pattern(size_of(i) if i % 4 != 3 else 5 * MiB, i)
                self.s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"i": str(i)})
                objects[(bucket, key)] = body
        self.s3.put_object(Bucket="keep-a", Key="gone", Body=b"deleted before the restart")
        self.s3.delete_object(Bucket="keep-a", Key="gone")
        return objects

    def check_all(self, objects):
        s3 = self.dev.client()
        names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        self.assertTrue({"keep-a", "keep-b"} <= names)
        for (bucket, key), body in objects.items():
            r = s3.get_object(Bucket=bucket, Key=key)
            self.assertTrue(r["Body"].read() == body, key)
            self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
            self.assertEqual(r["Metadata"]["i"], key.rsplit("+", 1)[1].lstrip("0") or "0")
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="keep-a")["Contents"]]
        self.assertEqual(sorted(k for b, k in objects if b == "keep-a"), listed)
        self.assertEqual(self.error_code(s3.head_object, Bucket="keep-a", Key="gone")[1], 404)
        return s3

    def test_gateway_then_system_restart(self):
        objects = self.put_all()
        credentials = dict(self.dev.env)
        self.dev.restart_gateway()
        s3 = self.check_all(objects)
        s3.put_object(Bucket="keep-b", Key="after restart+99", Body=b"new",
                      Metadata={"i": "99"})
        objects[("keep-b", "after restart+99")] = b"new"
        # The whole system, stopped with SIGTERM and started again on the same folder.
        self.dev.stop()
        self.dev.start()
        self.assertEqual(self.dev.env["AWS_ACCESS_KEY_ID"], credentials["AWS_ACCESS_KEY_ID"])
        self.assertEqual(self.dev.env["AWS_SECRET_ACCESS_KEY"],
                         credentials["AWS_SECRET_ACCESS_KEY"])
        self.check_all(objects)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
