"""S3 lifecycle rules (issue 16) through boto3 against a real `mosaic dev` whose gateway runs
with the test-only knob test_lifecycle_day = "2s" (a lifecycle "day" of two seconds):
noncurrent versions expired by the job (keeping NewerNoncurrentVersions), current objects
expired to a delete marker, a lone delete marker removed (ExpiredObjectDeleteMarker) and one
with a version behind it kept, Tag and And{Prefix, Tags} filters taking only the objects
that match, incomplete uploads aborted, versions under Object Lock untouched,
the configuration's own API (transitions answer 501), and the configuration, versions,
retentions and legal holds kept by the metadata backup through `mosaic restore`."""

import base64
import datetime
import hashlib
import os
import re
import time
import unittest

import boto3
from botocore.config import Config

import harness
from backup_test import Gateway, gateway_config, restore, status_backup

DAY_S = 2


def md5(body):
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def rules(*rule_list):
    return {"Rules": list(rule_list)}


class LifecycleTest(harness.DevTestCase):
    dev_args = ("--backup-lag", "1s")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        path = cls.dev.gateway["config"]
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:  # a top-level key: before the first table
            f.write('test_lifecycle_day = "%ds"\n' % DAY_S + text)
        cls.dev.restart_gateway()
        harness.poll(cls.dev.alive, 60, 0.2, what="the restarted gateway")
        cls.s3 = cls.dev.client()

    def versions(self, bucket, prefix=""):
        r = self.s3.list_object_versions(Bucket=bucket, Prefix=prefix)
        return r.get("Versions", []), r.get("DeleteMarkers", [])

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.5)
        self.fail("timed out waiting for " + what)

    def test_configuration_api(self):
        self.s3.create_bucket(Bucket="lc-api")
        code, status = self.error_code(self.s3.get_bucket_lifecycle_configuration,
                                       Bucket="lc-api")
        self.assertEqual((code, status), ("NoSuchLifecycleConfiguration", 404))
        conf = rules({"ID": "old", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
                      "NoncurrentVersionExpiration": {"NoncurrentDays": 3,
                                                      "NewerNoncurrentVersions": 2}},
                     {"ID": "mpu", "Status": "Disabled", "Filter": {"Prefix": ""},
                      "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
        self.s3.put_bucket_lifecycle_configuration(Bucket="lc-api", LifecycleConfiguration=conf)
        got = self.s3.get_bucket_lifecycle_configuration(Bucket="lc-api")["Rules"]
        self.assertEqual([r["ID"] for r in got], ["old", "mpu"])
        self.assertEqual(got[0]["NoncurrentVersionExpiration"],
                         {"NoncurrentDays": 3, "NewerNoncurrentVersions": 2})
        self.assertEqual(got[1]["Status"], "Disabled")
        code, status = self.error_code(
            self.s3.put_bucket_lifecycle_configuration, Bucket="lc-api",
            LifecycleConfiguration=rules({"ID": "t", "Status": "Enabled",
                                          "Filter": {"Prefix": ""},
                                          "Transitions": [{"Days": 30,
                                                           "StorageClass": "GLACIER"}]}))
        self.assertEqual((code, status), ("NotImplemented", 501))
        self.s3.delete_bucket_lifecycle(Bucket="lc-api")
        code, _ = self.error_code(self.s3.get_bucket_lifecycle_configuration, Bucket="lc-api")
        self.assertEqual(code, "NoSuchLifecycleConfiguration")

    def test_job_expires_versions_aborts_uploads_and_spares_locked_data(self):
        s3 = self.s3
        s3.create_bucket(Bucket="lc-job", ObjectLockEnabledForBucket=True)
        ids = [s3.put_object(Bucket="lc-job", Key="logs/a", Body=b"%d" % i)["VersionId"]
               for i in range(4)]
        kept = [s3.put_object(Bucket="lc-job", Key="keep/b", Body=b"%d" % i)["VersionId"]
                for i in range(2)]
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        locked = []
        for i in range(3):  # the oldest is the rule's to delete, but under COMPLIANCE
            body = b"locked %d" % i
            locked.append(s3.put_object(Bucket="lc-job", Key="logs/locked", Body=body,
                                        ContentMD5=md5(body), ObjectLockMode="COMPLIANCE",
                                        ObjectLockRetainUntilDate=until)["VersionId"])
        s3.put_object(Bucket="lc-job", Key="tmp/x", Body=b"t")
        upload = s3.create_multipart_upload(Bucket="lc-job", Key="tmp/upload")["UploadId"]
        s3.put_bucket_lifecycle_configuration(Bucket="lc-job", LifecycleConfiguration=rules(
            {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 1,
                                             "NewerNoncurrentVersions": 1}},
            {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
             "Expiration": {"Days": 1},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}))

        def logs_trimmed():
            versions, _ = self.versions("lc-job", "logs/a")
            return [v["VersionId"] for v in versions] == [ids[3], ids[2]]
        self.wait_for(logs_trimmed, "noncurrent versions of logs/a to expire")

        def tmp_expired():
            _, markers = self.versions("lc-job", "tmp/")
            uploads = s3.list_multipart_uploads(Bucket="lc-job").get("Uploads", [])
            return any(m["IsLatest"] for m in markers) and not uploads
        self.wait_for(tmp_expired, "tmp/x to expire and the upload to be aborted")
        code, _ = self.error_code(s3.list_parts, Bucket="lc-job", Key="tmp/upload",
                                  UploadId=upload)
        self.assertEqual(code, "NoSuchUpload")
        # Locked versions and keys outside every rule are left alone.
        versions, _ = self.versions("lc-job", "logs/locked")
        self.assertEqual(sorted(v["VersionId"] for v in versions), sorted(locked))
        versions, _ = self.versions("lc-job", "keep/")
        self.assertEqual(sorted(v["VersionId"] for v in versions), sorted(kept))
        got = s3.get_object(Bucket="lc-job", Key="logs/locked", VersionId=locked[0])
        self.assertEqual(got["Body"].read(), b"locked 0")
        # `mosaic status` shows the job's progress, with the version the lock kept.
        def locked_kept():
            line = [w for w in self.dev.status()["workers"] if w["name"] == "lifecycle"]
            self.assertTrue(line, "no lifecycle worker in mosaic status")
            kept = re.search(r"(\d+) kept by Object Lock", line[0]["detail"])
            return kept and int(kept.group(1)) >= 1
        self.wait_for(locked_kept, "the job to keep the locked version")
        versions, _ = self.versions("lc-job", "logs/locked")
        self.assertEqual(sorted(v["VersionId"] for v in versions), sorted(locked))

    def test_expired_delete_markers_and_tag_filters(self):
        s3 = self.s3
        s3.create_bucket(Bucket="lc-filter")
        s3.put_bucket_versioning(Bucket="lc-filter",
                                 VersioningConfiguration={"Status": "Enabled"})
        # A lone marker (its version deleted by id) and a marker with a version behind it.
        lone = s3.put_object(Bucket="lc-filter", Key="m/lone", Body=b"1")["VersionId"]
        lone_marker = s3.delete_object(Bucket="lc-filter", Key="m/lone")["VersionId"]
        s3.delete_object(Bucket="lc-filter", Key="m/lone", VersionId=lone)
        s3.put_object(Bucket="lc-filter", Key="m/backed", Body=b"2")
        backed_marker = s3.delete_object(Bucket="lc-filter", Key="m/backed")["VersionId"]
        tagged = {"t/temp": "class=temp", "t/hot": "class=hot", "a/both": "x=1&y=2",
                  "a/one": "x=1", "b/both": "x=1&y=2"}
        for key, tagging in tagged.items():
            s3.put_object(Bucket="lc-filter", Key=key, Body=b"t", Tagging=tagging)
        s3.put_bucket_lifecycle_configuration(Bucket="lc-filter", LifecycleConfiguration=rules(
            {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": "m/"},
             "Expiration": {"ExpiredObjectDeleteMarker": True}},
            {"ID": "tag", "Status": "Enabled",
             "Filter": {"Tag": {"Key": "class", "Value": "temp"}}, "Expiration": {"Days": 1}},
            {"ID": "and", "Status": "Enabled",
             "Filter": {"And": {"Prefix": "a/", "Tags": [{"Key": "x", "Value": "1"},
                                                        {"Key": "y", "Value": "2"}]}},
             "Expiration": {"Days": 1}}))

        def latest_markers():
            _, markers = self.versions("lc-filter")
            return {m["Key"]: m["VersionId"] for m in markers if m["IsLatest"]}

        def done():
            latest = latest_markers()
            return "m/lone" not in latest and {"t/temp", "a/both"} <= latest.keys()
        self.wait_for(done, "the lone marker to go and the tagged objects to expire")
        latest = latest_markers()
        # Only objects every tag (and the prefix) of a rule takes expire; a marker with a
        # version behind it stays; the lone one is gone for good.
        self.assertEqual(sorted(latest), ["a/both", "m/backed", "t/temp"])
        self.assertEqual(latest["m/backed"], backed_marker)
        _, markers = self.versions("lc-filter", "m/lone")
        self.assertNotIn(lone_marker, [m["VersionId"] for m in markers])
        for key in ("t/hot", "a/one", "b/both"):
            self.assertEqual(s3.get_object(Bucket="lc-filter", Key=key)["Body"].read(), b"t")
        self.assertEqual(s3.get_object(Bucket="lc-filter", Key="m/backed",
                                       VersionId=self.versions("lc-filter", "m/backed")[0][0]
                                       ["VersionId"])["Body"].read(), b"2")

    def test_restore_keeps_configuration_versions_and_locks(self):
        s3 = self.s3
        s3.create_bucket(Bucket="lc-restore", ObjectLockEnabledForBucket=True)
        conf = rules({"ID": "later", "Status": "Enabled", "Filter": {"Prefix": "never/"},
                      "Expiration": {"Days": 365}})
        s3.put_bucket_lifecycle_configuration(Bucket="lc-restore", LifecycleConfiguration=conf)
        until = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
                 ).replace(microsecond=0)
        held = s3.put_object(Bucket="lc-restore", Key="k", Body=b"held")["VersionId"]
        s3.put_object_legal_hold(Bucket="lc-restore", Key="k", VersionId=held,
                                 LegalHold={"Status": "ON"})
        kept = s3.put_object(Bucket="lc-restore", Key="k", Body=b"kept", ContentMD5=md5(b"kept"),
                             ObjectLockMode="COMPLIANCE",
                             ObjectLockRetainUntilDate=until)["VersionId"]
        s3.put_object(Bucket="lc-restore", Key="gone", Body=b"x")
        marker = s3.delete_object(Bucket="lc-restore", Key="gone")["VersionId"]
        before = s3.list_object_versions(Bucket="lc-restore")
        since_ms = int(time.time() * 1000)
        gw = self.dev.gateway
        harness.poll(lambda: (status_backup(gw["config"]) or {}).get("covered_ms", 0) > since_ms,
                     60, 0.2, what="the backup to cover every write")

        into = os.path.join(self.dev.dir, "restored")
        out = restore(os.path.join(self.dev.dir, "master.key"), gw["config"], into)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        g = Gateway(gateway_config(gw["config"], into), into)
        try:
            r = boto3.session.Session().client(
                "s3", endpoint_url=g.endpoint, region_name="us-east-1",
                aws_access_key_id=self.dev.env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=self.dev.env["AWS_SECRET_ACCESS_KEY"],
                config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
            got = r.get_bucket_lifecycle_configuration(Bucket="lc-restore")["Rules"]
            self.assertEqual(got, conf["Rules"])
            after = r.list_object_versions(Bucket="lc-restore")
            for field in ("Versions", "DeleteMarkers"):
                self.assertEqual([(v["Key"], v["VersionId"], v["IsLatest"]) for v in after[field]],
                                 [(v["Key"], v["VersionId"], v["IsLatest"]) for v in before[field]])
            self.assertEqual([m["VersionId"] for m in after["DeleteMarkers"]], [marker])
            ret = r.get_object_retention(Bucket="lc-restore", Key="k", VersionId=kept)["Retention"]
            self.assertEqual((ret["Mode"], ret["RetainUntilDate"]), ("COMPLIANCE", until))
            hold = r.get_object_legal_hold(Bucket="lc-restore", Key="k", VersionId=held)
            self.assertEqual(hold["LegalHold"]["Status"], "ON")
            self.assertEqual(r.get_object(Bucket="lc-restore", Key="k", VersionId=held)["Body"]
                             .read(), b"held")
            for version in (held, kept):
                self.assertEqual(self.error_code(r.delete_object, Bucket="lc-restore", Key="k",
                                                 VersionId=version), ("AccessDenied", 403))
        except Exception as e:
            raise AssertionError("%s\nrestored gateway's log:\n%s" % (e, g.log_tail()))
        finally:
            g.stop()


if __name__ == "__main__":
    unittest.main()
