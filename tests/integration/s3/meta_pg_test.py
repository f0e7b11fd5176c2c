"""Moving a RocksDB group's metadata into PostgreSQL (issue 17), against `mosaic dev` and a
PostgreSQL the test starts itself (local_pg.py):
- restore into PostgreSQL: a RocksDB group is filled (objects, a multipart one, versions and
  a delete marker, an object under legal hold, an upload in progress, a second access key),
  the backup catches up, the gateway is stopped; `mosaic restore --into postgresql://…
  --config-dir DIR` writes the metadata into an empty database and DIR/gateway.toml naming
  it; a gateway started on that config as it is serves every object byte-identical, every
  version, the lock and the keys. The password in the URI is printed nowhere; a second
  restore into the same (no longer empty) database is refused.
- migrate: `mosaic meta migrate` is refused while the gateway runs; stopped, the group is
  migrated, the config rewritten (the old kept), and TWO gateways on the database serve
  everything, and a PUT through one reads through the other.

Run: MOSAIC_BINARY=build/mosaic /usr/bin/python3 tests/integration/s3/meta_pg_test.py
"""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from backup_test import GatewaysTestCase, status_backup  # noqa: E402
from local_pg import LocalPostgres  # noqa: E402

MiB = 1 << 20
PASSWORD = "s3cret-Pw-4711"


def sizes(i):
    return (0, 1, 4096, 65536 + 3, 300000, 4 * MiB + 17)[i % 6]


class Group:
    """What a test writes into the RocksDB group, and checks through any gateway."""

    def __init__(self, test):
        self.t = test
        self.objects = {}  # (bucket, key) -> body

    def fill(self, s3, dev):
        s3.create_bucket(Bucket="plain")
        for i in range(24):
            body = harness.pattern(sizes(i), i)
            s3.put_object(Bucket="plain", Key="obj/%03d" % i, Body=body,
                          Metadata={"index": str(i)})
            self.objects[("plain", "obj/%03d" % i)] = body
        up = s3.create_multipart_upload(Bucket="plain", Key="multi")["UploadId"]
        multi = harness.pattern(5 * MiB, 7) + harness.pattern(1234, 8)
        parts = []
        for n, chunk in ((1, multi[:5 * MiB]), (2, multi[5 * MiB:])):
            r = s3.upload_part(Bucket="plain", Key="multi", UploadId=up, PartNumber=n, Body=chunk)
            parts.append({"PartNumber": n, "ETag": r["ETag"]})
        s3.complete_multipart_upload(Bucket="plain", Key="multi", UploadId=up,
                                     MultipartUpload={"Parts": parts})
        self.objects[("plain", "multi")] = multi
        self.unfinished = s3.create_multipart_upload(Bucket="plain", Key="unfinished")["UploadId"]
        s3.create_bucket(Bucket="kept")
        s3.put_bucket_versioning(Bucket="kept", VersioningConfiguration={"Status": "Enabled"})
        self.v1 = s3.put_object(Bucket="kept", Key="doc", Body=b"first")["VersionId"]
        s3.put_object(Bucket="kept", Key="doc", Body=b"second")
        s3.put_object(Bucket="kept", Key="gone", Body=b"deleted later")
        s3.delete_object(Bucket="kept", Key="gone")
        self.objects[("kept", "doc")] = b"second"
        s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
        self.held = s3.put_object(Bucket="locked", Key="held", Body=b"on hold",
                                  ObjectLockLegalHoldStatus="ON")["VersionId"]
        self.objects[("locked", "held")] = b"on hold"
        self.reader = dev.create_key("migrate-reader", [("plain", "read")])

    def check(self, endpoint):
        t = self.t
        s3 = t.client_for(endpoint)
        for (bucket, key), body in self.objects.items():
            r = s3.get_object(Bucket=bucket, Key=key)
            t.assertEqual(r["Body"].read(), body, "%s/%s through %s" % (bucket, key, endpoint))
            if key.startswith("obj/"):
                t.assertEqual(r["Metadata"], {"index": str(int(key[4:]))})
        t.assertEqual(s3.get_object(Bucket="kept", Key="doc", VersionId=self.v1)["Body"].read(),
                      b"first")
        listed = s3.list_object_versions(Bucket="kept")
        t.assertEqual(len(listed.get("Versions", [])), 3)
        t.assertEqual(len(listed.get("DeleteMarkers", [])), 1)
        t.assertEqual(t.error_code(s3.get_object, Bucket="kept", Key="gone")[1], 404)
        t.assertEqual(t.error_code(s3.delete_object, Bucket="locked", Key="held",
                                   VersionId=self.held)[1], 403)
        uploads = s3.list_multipart_uploads(Bucket="plain").get("Uploads", [])
        t.assertEqual([u["UploadId"] for u in uploads], [self.unfinished])
        reader = t.client_for(endpoint, *self.reader)
        t.assertEqual(reader.list_objects_v2(Bucket="plain", Prefix="obj/")["KeyCount"], 24)
        t.assertEqual(t.error_code(reader.put_object, Bucket="plain", Key="x", Body=b"x")[1],
                      403)


class MetaPgTestCase(GatewaysTestCase):
    """backup_test's gateways and work folder (dev's backup every second), and a PostgreSQL."""
    work_prefix = "mosaic-meta-pg-it-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.pg = LocalPostgres()
        except BaseException:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()  # the gateways first
        finally:
            cls.pg.stop()

    def stop_dev_gateway(self):
        gw = self.dev.gateway
        os.kill(gw["pid"], signal.SIGTERM)
        harness.poll(lambda: not harness.process_running(gw["pid"]), 60, what="gateway stop")

    def mosaic(self, *args):
        return subprocess.run([harness.BINARY, *args], capture_output=True, text=True,
                              timeout=300)

    def check_on(self, gateway, group):
        try:
            group.check(gateway.endpoint)
        except Exception as e:
            raise AssertionError("%s\ngateway's log:\n%s" % (e, gateway.log_tail()))


class RestoreIntoPostgresTest(MetaPgTestCase):
    def test_restore_into_an_empty_database_and_serve_it(self):
        group = Group(self)
        group.fill(self.s3, self.dev)
        gw = self.dev.gateway
        since = int(time.time() * 1000)
        harness.poll(lambda: (status_backup(gw["config"]) or {}).get("covered_ms", 0) > since,
                     90, 0.2, what="the backup to cover every write")
        self.stop_dev_gateway()
        self.pg.create_database("restored")
        uri = self.pg.uri("restored", PASSWORD)
        into = os.path.join(self.work, "restored")
        key = os.path.join(self.dev.dir, "master.key")
        out = self.mosaic("restore", "--key", key, "--nodes", gw["config"], "--into", uri,
                          "--config-dir", into)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"objects:\s+%d " % len(group.objects))
        self.assertNotIn(PASSWORD, out.stdout + out.stderr)
        self.assertFalse(os.path.exists(os.path.join(into, "meta")))  # not RocksDB
        config = os.path.join(into, "gateway.toml")
        with open(config) as f:
            text = f.read()
        self.assertRegex(text, r"(?m)^backend = ['\"]postgresql['\"]$")
        self.assertEqual(int(self.pg.psql("restored", "SELECT count(*) FROM mosaic_rows")) > 0,
                         True)

        g = self.start_gateway(config, into)  # the config as restore wrote it
        self.check_on(g, group)
        with open(g.log_path, errors="replace") as f:
            self.assertNotIn(PASSWORD, f.read())
        s3 = self.client_for(g.endpoint)
        s3.put_object(Bucket="plain", Key="after", Body=b"written on PostgreSQL")
        self.assertEqual(s3.get_object(Bucket="plain", Key="after")["Body"].read(),
                         b"written on PostgreSQL")
        g.stop()

        again = self.mosaic("restore", "--key", key, "--nodes", gw["config"], "--into", uri,
                            "--config-dir", os.path.join(self.work, "again"))
        self.assertNotEqual(again.returncode, 0, again.stdout)
        self.assertIn("holds Mosaic metadata already", again.stderr)
        self.assertNotIn(PASSWORD, again.stdout + again.stderr)


def second_config(source, data_dir):
    """`source` with another data folder and ports of its own (no console)."""
    with open(source) as f:
        text = f.read()
    text = re.sub(r'(?m)^data_dir = ".*"$', 'data_dir = "%s"' % data_dir, text, count=1)
    text = re.sub(r'(?m)^listen = ".*"$', 'listen = "127.0.0.1:0"', text, count=1)
    text = re.sub(r'(?m)^console_listen = ".*"$', 'console_listen = ""', text, count=1)
    os.makedirs(data_dir, exist_ok=True)
    path = data_dir + ".toml"
    with open(path, "w") as f:
        f.write(text)
    return path


class MigrateTest(MetaPgTestCase):
    def test_migrate_and_serve_from_two_gateways(self):
        group = Group(self)
        group.fill(self.s3, self.dev)
        gw = self.dev.gateway
        self.pg.create_database("migrated")
        uri = self.pg.uri("migrated")
        refused = self.mosaic("meta", "migrate", "--config", gw["config"], "--to", uri)
        self.assertEqual(refused.returncode, 2, refused.stdout + refused.stderr)
        self.assertIn("stop it first", refused.stderr)
        self.assertEqual(self.pg.psql("migrated", "SELECT count(*) FROM pg_tables WHERE "
                                                  "tablename = 'mosaic_rows'").strip(), "0")

        self.stop_dev_gateway()
        with open(gw["config"]) as f:
            before = f.read()
        out = self.mosaic("meta", "migrate", "--config", gw["config"], "--to", uri)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"(?m)^\s+o\s+objects\s+%d rows" % len(group.objects))
        self.assertIn("kept the old config as", out.stdout)
        with open(gw["config"] + ".rocksdb") as f:
            self.assertEqual(f.read(), before)
        with open(gw["config"]) as f:
            self.assertRegex(f.read(), r'(?m)^backend = "postgresql"$')

        first = self.start_gateway(gw["config"], gw["dir"])
        second_dir = os.path.join(self.work, "second")
        second = self.start_gateway(second_config(gw["config"], second_dir), second_dir)
        for g in (first, second):
            self.check_on(g, group)
        self.client_for(first.endpoint).put_object(Bucket="plain", Key="new",
                                                   Body=b"through the first")
        self.assertEqual(self.client_for(second.endpoint).get_object(
            Bucket="plain", Key="new")["Body"].read(), b"through the first")
        again = self.mosaic("meta", "migrate", "--config", gw["config"], "--to", uri)
        self.assertEqual(again.returncode, 2, again.stdout + again.stderr)
        self.assertIn("in PostgreSQL already", again.stderr)


if __name__ == "__main__":
    unittest.main()
