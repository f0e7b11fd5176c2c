"""Two gateways on one PostgreSQL database (issue 17): `mosaic dev --gateways 2 --metadata
postgresql`. Racing If-None-Match writers spread over both gateways: exactly one wins;
a multipart upload's parts go through both and it completes through one; an access key made
on one works on the other at once; each background job has one leader, and when the
leader's gateway is killed (-9) the other takes its jobs over. "Mark uploading first": the
orphan sweep forced on one gateway spares an upload in progress on the other, and the
shards of an upload cut off by the kill are freed by the other's sweep once its writer's
heartbeat stood still (6 s).
PostgreSQL stopped and started again under a PUT load on both gateways: they answer 503
ServiceUnavailable while it is down, every acknowledged object reads back afterwards, and
both serve again without a restart.

Run: MOSAIC_BINARY=build/mosaic /usr/bin/python3 tests/integration/s3/gateways_test.py
"""

import glob
import json
import os
import signal
import subprocess
import threading
import time
import unittest

import boto3
from botocore.config import Config

# Before the harness reads it: every system here has its metadata in PostgreSQL.
os.environ["MOSAIC_TEST_DEV_ARGS"] = "--metadata postgresql"
import harness  # noqa: E402
from harness import pattern, poll  # noqa: E402
from scrub_test import admin, presigned_put, used_bytes  # noqa: E402

MiB = 1 << 20


class TwoGatewaysTest(harness.DevTestCase):
    dev_args = ("--gateways", "2")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.endpoints = cls.dev.env["MOSAIC_ENDPOINTS"].strip('"').split()

    def client(self, i, **config):
        config.setdefault("retries", {"max_attempts": 1})
        config.setdefault("s3", {"addressing_style": "path"})
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoints[i], region_name="us-east-1",
            aws_access_key_id=self.dev.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.dev.env["AWS_SECRET_ACCESS_KEY"],
            config=Config(**config))

    def sweep(self, gateway):
        status, body = admin(self.dev, "POST", "/admin/v1/sweep?grace=0s", gateway)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def start_slow_upload(self, i, bucket, key, body, sent, stripes):
        """A PUT through gateway i of which `sent` bytes are sent, once `stripes` stripes are
        on the nodes (4 MiB stripes, 4+2: 1.5 times the bytes); returns the connection."""
        base = used_bytes(self.dev)
        conn = presigned_put(self.client(i, signature_version="s3v4"), bucket, key, len(body))
        conn.send(body[:sent])
        poll(lambda: used_bytes(self.dev) >= base + stripes * 4 * MiB * 1.5, 60, 0.2,
             "stripes of the upload in progress on the nodes")
        return conn

    def test_a_sweep_on_one_gateway_spares_an_upload_in_progress_on_the_other(self):
        self.client(0).create_bucket(Bucket="inflight")
        body = pattern(16 * MiB + 5, 21)
        conn = self.start_slow_upload(0, "inflight", "slow", body, 10 * MiB, 2)
        other = self.dev.processes("gateway")[1]
        first = self.sweep(other)
        second = self.sweep(other)  # grace 0: what the first found unreferenced goes now
        conn.send(body[10 * MiB:])
        r = conn.getresponse()
        self.assertEqual(r.status, 200, r.read())
        r.read()
        conn.close()
        got = self.client(1).get_object(Bucket="inflight", Key="slow")["Body"].read()
        self.assertTrue(got == body, "the upload in progress lost data to the other's sweep")
        self.assertGreaterEqual(first["writes_in_flight"], 1, first)
        self.assertGreaterEqual(second["writes_in_flight"], 1, second)
        self.assertEqual(second["dead_writes"], 0, second)

    def pg_ctl(self, *args):
        """Runs pg_ctl on the dev system's PostgreSQL as its user (nobody when we are root)."""
        data = os.path.join(self.dev.description["database"]["dir"], "data")
        argv = [sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1], "-D", data] + list(args)
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "nobody", "--"] + argv
        # No pipes: a server started here keeps its standard output open.
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)

    def put_load(self, stop, acked, failed):
        """PUTs of 64 KiB through both gateways (one thread each) until `stop` is set (at most
        2,000 each): acknowledged keys go to `acked` {key: body}, errors to `failed`."""
        def run(i):
            c = self.client(i, connect_timeout=10, read_timeout=60)
            for n in range(2000):
                if stop.is_set():
                    return
                key, body = "g%d/%d" % (i, n), pattern(64 * 1024, 1000 * i + n)
                try:
                    c.put_object(Bucket="outage", Key=key, Body=body)
                    acked[key] = body
                except c.exceptions.ClientError as e:
                    failed.append((e.response["ResponseMetadata"]["HTTPStatusCode"],
                                   e.response["Error"]["Code"]))
                    time.sleep(0.05)
                except Exception as e:  # a timeout or a reset: not what the gateway may do
                    failed.append((0, repr(e)))
        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        return threads

    def test_the_database_stopped_under_a_put_load_gives_503s_and_loses_nothing_acked(self):
        self.client(0).create_bucket(Bucket="outage")
        stop, acked, failed = threading.Event(), {}, []
        threads = self.put_load(stop, acked, failed)
        try:
            poll(lambda: len(acked) >= 20, 60, 0.1, "PUTs before the outage")
            self.pg_ctl("-m", "fast", "-w", "stop")
            poll(lambda: len(failed) >= 20, 60, 0.1, "PUTs refused while the database is down")
            def per_gateway():
                keys = list(acked)
                return [sum(k.startswith("g%d/" % i) for k in keys) for i in (0, 1)]

            down = per_gateway()
            # pg_ctl restart of a stopped server starts it with its recorded options.
            log = os.path.join(self.dev.description["database"]["dir"], "postgres.log")
            self.pg_ctl("-w", "-t", "60", "-l", log, "restart")
            poll(lambda: all(now >= then + 20 for now, then in zip(per_gateway(), down)), 90,
                 0.2, "PUTs through both gateways again without a restart")
        finally:
            stop.set()
            for t in threads:
                t.join(120)
        self.assertTrue(all(t.is_alive() is False for t in threads))
        self.assertEqual({f for f in failed if f != (503, "ServiceUnavailable")}, set(), failed)
        for n, (key, body) in enumerate(sorted(acked.items())):
            got = self.client(n % 2).get_object(Bucket="outage", Key=key)["Body"].read()
            self.assertTrue(got == body, "acknowledged %s lost or changed" % key)

    def test_dev_describes_both_gateways_and_the_database(self):
        self.assertEqual(len(self.endpoints), 2)
        self.assertEqual(self.dev.env["AWS_ENDPOINT_URL"], self.endpoints[0])
        self.assertEqual(len(self.dev.processes("gateway")), 2)
        self.assertEqual(self.dev.description["database"]["backend"], "postgresql")

    def test_of_racing_if_none_match_writers_on_both_gateways_exactly_one_wins(self):
        self.client(0).create_bucket(Bucket="race")
        for round_ in range(3):
            key = "k%d" % round_
            results = [None] * 8
            barrier = threading.Barrier(8, timeout=60)

            def write(i):
                c = self.client(i % 2)

                def add(request, **_):
                    del request.headers["If-None-Match"]
                    request.headers["If-None-Match"] = "*"

                c.meta.events.register("before-sign.s3.PutObject", add)
                barrier.wait()
                try:
                    c.put_object(Bucket="race", Key=key, Body=b"writer %d" % i)
                    results[i] = "won"
                except c.exceptions.ClientError as e:
                    results[i] = e.response["Error"]["Code"]

            threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            self.assertEqual(results.count("won"), 1, results)
            self.assertEqual(results.count("PreconditionFailed"), 7, results)
            winner = results.index("won")
            for i in (0, 1):
                body = self.client(i).get_object(Bucket="race", Key=key)["Body"].read()
                self.assertEqual(body, b"writer %d" % winner)

    def test_parts_through_both_gateways_complete_through_one(self):
        a, b = self.client(0), self.client(1)
        a.create_bucket(Bucket="parts")
        up = a.create_multipart_upload(Bucket="parts", Key="big")["UploadId"]
        one, two = pattern(5 * MiB, 1), pattern(1 * MiB, 2)
        e1 = a.upload_part(Bucket="parts", Key="big", UploadId=up, PartNumber=1, Body=one)["ETag"]
        e2 = b.upload_part(Bucket="parts", Key="big", UploadId=up, PartNumber=2, Body=two)["ETag"]
        listed = b.list_parts(Bucket="parts", Key="big", UploadId=up)["Parts"]
        self.assertEqual([p["PartNumber"] for p in listed], [1, 2])
        b.complete_multipart_upload(
            Bucket="parts", Key="big", UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                       {"PartNumber": 2, "ETag": e2}]})
        self.assertEqual(a.get_object(Bucket="parts", Key="big")["Body"].read(), one + two)
        listing = a.list_objects_v2(Bucket="parts")["Contents"]
        self.assertEqual([o["Key"] for o in listing], ["big"])

    def test_a_key_made_on_one_gateway_works_on_the_other_at_once(self):
        key_id, secret = self.dev.create_key("second", grants=[("*", "owner")])
        c = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoints[1], region_name="us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
        c.create_bucket(Bucket="keyed")
        c.put_object(Bucket="keyed", Key="x", Body=b"x")
        self.assertEqual(self.client(0).get_object(Bucket="keyed", Key="x")["Body"].read(), b"x")

    def zz_leaders(self, gateway):
        """{job: standby?} of one gateway's workers, from `mosaic status --json`."""
        r = subprocess.run([harness.BINARY, "status", "--json", "--config", gateway["config"]],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return None
        return {w["name"]: w.get("standby", False) for w in json.loads(r.stdout)["workers"]}

    def test_zz_each_job_has_one_leader_and_the_other_takes_over_after_a_kill(self):
        first, second = self.dev.processes("gateway")

        def one_leader():
            a, b = self.zz_leaders(first), self.zz_leaders(second)
            if not a or not b or "repair" not in a:
                return None
            # Every gateway runs these itself: the drains cache, the leases, the safety scan
            # that refreshes its own status metrics, and the journal of its own writes.
            own = ("node states", "leases", "safety scan", "write journal")
            jobs = [j for j in a if j not in own and j in b]
            if all(a[j] != b[j] for j in jobs):  # one standby, one leader, for each
                return a
            return None

        led = poll(one_leader, 60, 0.5, "one leader per job")
        self.assertIn("repair", led)
        # Kill the gateway that leads the repair job: the other leads every job within
        # seconds (the lease's time, 6 s, and a heartbeat).
        leader, other = (second, first) if led["repair"] else (first, second)
        i = self.dev.processes("gateway").index(leader)
        self.client(i).create_bucket(Bucket="killed")
        conn = self.start_slow_upload(i, "killed", "cut", pattern(32 * MiB, 5), 20 * MiB, 3)
        with_upload = used_bytes(self.dev)
        os.kill(leader["pid"], signal.SIGKILL)
        conn.close()

        def all_led():
            jobs = self.zz_leaders(other)
            return jobs if jobs and not any(jobs.values()) else None

        jobs = poll(all_led, 90, 0.5, "the other gateway to lead every job")
        self.assertIn("repair", jobs)
        self.assertIn("metadata backup", jobs)

        # The killed gateway's upload is a named target: spared while its writer may be
        # alive, dropped once its heartbeat stood still for 6 s on the sweeper's clock, then
        # its shards (3 stripes of 6 shards at least) are orphans that the next sweep deletes.
        seen = self.sweep(other)
        self.assertGreaterEqual(seen["writes_in_flight"], 1, seen)
        dropped = poll(lambda: (lambda r: r if r["dead_writes"] else None)(self.sweep(other)),
                       60, 1.0, "the sweep to drop the killed gateway's writes")
        self.assertGreaterEqual(dropped["dead_writes"], 1, dropped)
        self.assertGreaterEqual(dropped["candidates"], 3 * 6, dropped)
        swept = self.sweep(other)
        self.assertGreaterEqual(swept["deleted"], 3 * 6, swept)
        poll(lambda: used_bytes(self.dev) <= with_upload - 3 * 4 * MiB * 1.5, 30, 0.5,
             "the nodes' used bytes to drop by the cut upload's shards")


if __name__ == "__main__":
    unittest.main()
