"""Versions under Object Lock survive every path of the product that deletes data (issue 16),
with real nodes under `mosaic dev --providers 7`: the deletion queue freeing the pieces of a
copy and of unlocked versions (the locked version shares the copy's pieces), DeleteObjects and
DELETE by id refused (COMPLIANCE even with the bypass header, GOVERNANCE without it), the
bucket's deletion refused, the orphan sweep (two sweeps, no grace), a drain (its shards moved,
not dropped: every stripe whole again) and the repair after a node and its disk are lost.
After each, every locked version reads back byte-identical, with its retention and legal
hold. (The admin API and the CLI have no way to delete object data: their deletes are of
keys, members, teams and node records.)"""

import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from scrub_test import admin  # noqa: E402

KIB = 1 << 10
MIB = 1 << 20
BUCKET = "vault"


def md5(body):
    return base64.b64encode(hashlib.md5(body).digest()).decode()


class LockedVersionsSurviveTest(harness.DevTestCase):
    dev_args = ("--providers", "7", "--node-down-after", "3s")

    def put_locked(self, key, body, **lock):
        return self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentMD5=md5(body),
                                  **lock)["VersionId"]

    def check_locked(self, locked, what):
        for (key, vid), (digest, mode) in sorted(locked.items()):
            got = self.s3.get_object(Bucket=BUCKET, Key=key, VersionId=vid)
            self.assertEqual(hashlib.md5(got["Body"].read()).hexdigest(), digest,
                             "%s %s after %s" % (key, vid, what))
            if mode == "HOLD":
                self.assertEqual(got["ObjectLockLegalHoldStatus"], "ON")
            else:
                self.assertEqual(got["ObjectLockMode"], mode)

    def deep_scrub_finds_every_shard(self, locked, what):
        """`mosaic scrub --wait` reads every shard the metadata names: none missing or bad, none
        on an unreachable node (so a move that dropped a shard is found)."""
        out = subprocess.run([harness.BINARY, "scrub", "--wait", "--config",
                              self.dev.gateway["config"]],
                             capture_output=True, timeout=300, text=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        status, body = admin(self.dev, "GET", "/admin/v1/scrub")
        self.assertEqual(status, 200, body)
        progress = json.loads(body)
        self.assertEqual((progress["failures"], progress["skipped"], progress["error"]),
                         (0, 0, ""), "deep scrub after %s: %s" % (what, body))
        self.assertGreaterEqual(progress["shards_checked"], len(locked) * 6)  # 4+2

    def deletion_backlog_empty(self):
        return self.dev.metrics().get("mosaic_gateway_deletion_backlog", 0) == 0

    def whole(self, doc):
        s = doc["safety"]
        return (s["complete"] and s["stripes"] > 0 and s["healthy"] == s["stripes"]
                and doc["backlog"]["repair"]["count"] == 0)

    def node_of(self, provider):
        return [p for p in self.dev.processes("node") if p["provider"] == provider][0]

    def test_locked_versions_survive_every_deletion_path(self):
        s3 = self.s3
        s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        locked = {}  # (key, version id) -> (md5, COMPLIANCE | GOVERNANCE | HOLD)
        sizes = (1, 700, 33 * KIB + 3, 250 * KIB, 5 * MIB + 17)
        for i, size in enumerate(sizes):
            key = "backup/%d" % i
            body = harness.pattern(size, i)
            vid = self.put_locked(key, body, ObjectLockMode="COMPLIANCE",
                                  ObjectLockRetainUntilDate=until)
            locked[(key, vid)] = (hashlib.md5(body).hexdigest(), "COMPLIANCE")
        body = harness.pattern(300 * KIB, 99)
        vid = self.put_locked("held", body, ObjectLockLegalHoldStatus="ON")
        locked[("held", vid)] = (hashlib.md5(body).hexdigest(), "HOLD")
        body = harness.pattern(70 * KIB, 98)
        vid = self.put_locked("governed", body, ObjectLockMode="GOVERNANCE",
                              ObjectLockRetainUntilDate=until)
        locked[("governed", vid)] = (hashlib.md5(body).hexdigest(), "GOVERNANCE")

        # The deletion queue: copies share the locked versions' pieces and go for good; newer
        # unlocked versions are written and deleted by id; delete markers hide the keys.
        for (key, vid) in list(locked):
            copy = s3.copy_object(Bucket=BUCKET, Key="copy/" + key,
                                  CopySource={"Bucket": BUCKET, "Key": key, "VersionId": vid})
            s3.delete_object(Bucket=BUCKET, Key="copy/" + key, VersionId=copy["VersionId"])
            newer = s3.put_object(Bucket=BUCKET, Key=key, Body=b"newer")["VersionId"]
            s3.delete_object(Bucket=BUCKET, Key=key, VersionId=newer)
            s3.delete_object(Bucket=BUCKET, Key=key)  # a marker over the locked version
        for (key, vid) in locked:
            code, status = self.error_code(s3.delete_object, Bucket=BUCKET, Key=key,
                                           VersionId=vid)
            self.assertEqual((code, status), ("AccessDenied", 403), key)
        r = s3.delete_objects(Bucket=BUCKET, Delete={
            "Objects": [{"Key": k, "VersionId": v} for (k, v) in locked]})
        self.assertEqual(sorted(e["Code"] for e in r.get("Errors", [])),
                         ["AccessDenied"] * len(locked))
        unbypassable = [(k, v) for (k, v), (_, mode) in locked.items() if mode != "GOVERNANCE"]
        r = s3.delete_objects(Bucket=BUCKET, BypassGovernanceRetention=True, Delete={
            "Objects": [{"Key": k, "VersionId": v} for (k, v) in unbypassable]})
        self.assertEqual(sorted(e["Code"] for e in r.get("Errors", [])),
                         ["AccessDenied"] * len(unbypassable))
        self.assertEqual(self.error_code(s3.delete_bucket, Bucket=BUCKET),
                         ("BucketNotEmpty", 409))
        harness.poll(self.deletion_backlog_empty, 120, 0.2, what="the deletion queue to empty")
        self.assertGreater(self.dev.metrics().get("mosaic_gateway_deleted_objects_total", 0), 0)
        self.check_locked(locked, "the deletion queue")

        # The orphan sweep: nothing the metadata names is a candidate, even with no grace.
        for _ in range(2):
            status, body = admin(self.dev, "POST", "/admin/v1/sweep?grace=0s")
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["deleted"], 0, body)
        self.check_locked(locked, "two orphan sweeps")

        # A drain moves every shard of the drained node (7 providers: a spare one).
        drained = self.node_of("provider-a")
        r = self.dev.mosaic("node", "drain", drained["id"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        harness.wait_status(
            self.dev, lambda d: self.whole(d) and harness.nodes_of(d)[drained["id"]]["shards"] == 0,
            "the drain to finish")
        self.check_locked(locked, "the drain")
        self.deep_scrub_finds_every_shard(locked, "the drain")
        self.dev.kill_node(drained, destroy=True)  # the drained node held nothing any more
        self.check_locked(locked, "the drained node's loss")

        # A node and its disk lost: repair rebuilds its shards elsewhere.
        lost = self.node_of("provider-b")
        self.dev.kill_node(lost, destroy=True)
        harness.wait_status(
            self.dev, lambda d: self.whole(d) and harness.nodes_of(d)[lost["id"]]["shards"] == 0,
            "the repair of the lost node's shards", timeout_s=300)
        self.check_locked(locked, "the repair")
        self.deep_scrub_finds_every_shard(locked, "the repair")


if __name__ == "__main__":
    unittest.main()
