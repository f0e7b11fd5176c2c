#!/usr/bin/env python3
"""Upgrades (issue 20): folders written by an older build are opened by this one.

Each fixtures/dev-data-N.tar.xz is a `mosaic dev` folder (a gateway and three nodes) written
by an older build (make_fixture.py says how; fixtures/dev-data-N.json lists what it holds).
The test checks the version fields of the formats on disk (chunk records in the nodes'
segments, the key file), starts `mosaic dev` on the folder with this build, and reads every
object and version back with its bytes and metadata; the deleted object stays deleted;
the metadata backup written by the old build restores (a drill); and the new build writes
into the old folder and reads it back after a restart. A format change that breaks any of
this fails here: docs/upgrading.md says what to do instead (a new version, read both).

Run with /usr/bin/python3; MOSAIC_BINARY names the executable (set by CTest).
"""

import glob
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "s3"))
import harness  # noqa: E402

FIXTURES = sorted(glob.glob(os.path.join(HERE, "fixtures", "dev-data-*.tar.xz")))
RECORD_MAGIC = 0x5243534D  # "MSCR": server/node/store/record.h, docs/formats/segment.md


def first_records(segment):
    """(magic, version, kind) of each record header at a 4096-byte boundary, up to 8."""
    out = []
    with open(segment, "rb") as f:
        data = f.read()
    offset = 0
    while offset + 256 <= len(data) and len(out) < 8:
        magic, version, kind = struct.unpack_from("<IHH", data, offset)
        if magic != RECORD_MAGIC:
            break
        out.append((magic, version, kind))
        length = struct.unpack_from("<Q", data, offset + 16)[0]
        offset += (256 + length + 4095) // 4096 * 4096
    return out


class UpgradeTest(unittest.TestCase):
    def setUp(self):
        if not FIXTURES:
            self.fail("no fixture in %s/fixtures" % HERE)
        self.tmp = tempfile.mkdtemp(prefix="mosaic-upgrade-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def open_fixture(self, path):
        name = os.path.basename(path)[:-len(".tar.xz")]
        where = os.path.join(self.tmp, name)
        with tarfile.open(path, "r:xz") as t:
            t.extractall(where)  # our own fixture, checked in
        with open(os.path.join(HERE, "fixtures", name + ".json")) as f:
            return os.path.join(where, "dev-data"), json.load(f)

    def check_versions_on_disk(self, data):
        segments = glob.glob(os.path.join(data, "provider-*", "segments", "*.seg"))
        self.assertGreater(len(segments), 0)
        for segment in segments:
            records = first_records(segment)
            self.assertGreater(len(records), 0, segment)
            for magic, version, kind in records:
                self.assertEqual((version, kind), (1, 1), "record format of " + segment)
        with open(os.path.join(data, "master.key")) as f:
            self.assertIn("mosaic-key-file: 1\n", f.read())

    def check_objects(self, s3, described, extra=()):
        for o in described["objects"]:
            got = s3.get_object(Bucket=o["bucket"], Key=o["key"])
            body = got["Body"].read()
            self.assertEqual(len(body), o["size"], o["key"])
            self.assertEqual(hashlib.sha256(body).hexdigest(), o["sha256"], o["key"])
            self.assertEqual(got["Metadata"], o["metadata"], o["key"])
        for v in described["versions"]:
            got = s3.get_object(Bucket=v["bucket"], Key=v["key"], VersionId=v["version_id"])
            self.assertEqual(hashlib.sha256(got["Body"].read()).hexdigest(), v["sha256"])
        for d in described["deleted"]:
            with self.assertRaises(s3.exceptions.NoSuchKey):
                s3.get_object(Bucket=d["bucket"], Key=d["key"])
        listed = s3.list_objects_v2(Bucket="archive").get("Contents", [])
        self.assertEqual(sorted(x["Key"] for x in listed),
                         sorted([o["key"] for o in described["objects"] if o["bucket"] == "archive"]
                                + list(extra)))

    def check_backup_restores(self, dev, data, described):
        into = os.path.join(self.tmp, "restored")
        r = subprocess.run([harness.BINARY, "restore", "--key", os.path.join(data, "master.key"),
                            "--nodes", dev.gateway["config"], "--into", into, "--drill"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("buckets:     2", r.stdout)

    def check_format_files(self, data):
        """The folders' FORMAT files (written by this build where an older one wrote none)."""
        with open(os.path.join(data, "gateway", "meta", "FORMAT")) as f:
            self.assertEqual(f.read(), "mosaic-format: gateway metadata 1\n")
        for index in glob.glob(os.path.join(data, "provider-*", "index")):
            with open(os.path.join(index, "FORMAT")) as f:
                self.assertEqual(f.read(), "mosaic-format: node index 1\n")

    def check_newer_formats_are_refused(self, data):
        """A folder of a format newer than this build's: refused at start, naming both."""
        cases = [("gateway", os.path.join(data, "gateway", "meta"), "gateway metadata",
                  os.path.join(data, "gateway", "gateway.toml")),
                 ("node", os.path.join(data, "provider-a-1", "index"), "node index",
                  os.path.join(data, "provider-a-1", "node.toml"))]
        for role, folder, name, config in cases:
            with open(os.path.join(folder, "FORMAT"), "w") as f:
                f.write("mosaic-format: %s 2\n" % name)
            r = subprocess.run([harness.BINARY, role, "--config", config], capture_output=True,
                               text=True, timeout=60)
            logs = r.stdout + r.stderr
            for log in glob.glob(os.path.join(os.path.dirname(config), "*.log")):
                with open(log, errors="replace") as f:
                    logs += f.read()
            self.assertNotEqual(r.returncode, 0, role)
            self.assertIn("%s format version 2: this mosaic reads version 1" % name, logs)

    def test_fixtures_open_with_this_build(self):
        for path in FIXTURES:
            with self.subTest(fixture=os.path.basename(path)):
                data, described = self.open_fixture(path)
                self.check_versions_on_disk(data)
                dev = harness.DevSystem(directory=data, dev_args=["--providers", "3"]).start()
                try:
                    s3 = dev.client()
                    self.check_objects(s3, described)
                    self.check_backup_restores(dev, data, described)
                    s3.put_object(Bucket="archive", Key="new", Body=b"written after the upgrade")
                    dev.stop()
                    dev.start()
                    s3 = dev.client()
                    self.check_objects(s3, described, extra=["new"])
                    self.assertEqual(s3.get_object(Bucket="archive", Key="new")["Body"].read(),
                                     b"written after the upgrade")
                finally:
                    dev.stop()
                self.check_format_files(data)
                self.check_newer_formats_are_refused(data)


if __name__ == "__main__":
    unittest.main(verbosity=2)
