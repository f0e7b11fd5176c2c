"""S3 Object Lock (issue 16) through boto3 against a real `mosaic dev`: what Veeam does with an
immutable backup bucket (a lock bucket, per-object COMPLIANCE retention of seconds, its
extension, deletes refused until it expires), GOVERNANCE with and without the bypass and a
key allowed to bypass, legal holds (an overwrite is a new version: the held one stays),
default retention, and the refusals AWS documents."""

import base64
import datetime
import hashlib
import time
import unittest

import harness


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def md5(body):
    return base64.b64encode(hashlib.md5(body).digest()).decode()


class ObjectLockTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="vault", ObjectLockEnabledForBucket=True)

    def put_locked(self, key, body, mode, seconds, **extra):
        return self.s3.put_object(Bucket="vault", Key=key, Body=body, ContentMD5=md5(body),
                                  ObjectLockMode=mode,
                                  ObjectLockRetainUntilDate=now() +
                                  datetime.timedelta(seconds=seconds), **extra)

    def refused(self, call, **kw):
        code, status = self.error_code(call, **kw)
        self.assertEqual((code, status), ("AccessDenied", 403))

    def test_lock_bucket_is_versioned_for_good(self):
        self.assertEqual(self.s3.get_bucket_versioning(Bucket="vault")["Status"], "Enabled")
        code, status = self.error_code(self.s3.put_bucket_versioning, Bucket="vault",
                                       VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual((code, status), ("InvalidBucketState", 409))
        conf = self.s3.get_object_lock_configuration(Bucket="vault")
        self.assertEqual(conf["ObjectLockConfiguration"]["ObjectLockEnabled"], "Enabled")

    def test_veeam_like_compliance_backup(self):
        body = b"full backup, monday"
        vid = self.put_locked("veeam/full.vbk", body, "COMPLIANCE", 6)["VersionId"]
        head = self.s3.head_object(Bucket="vault", Key="veeam/full.vbk", VersionId=vid)
        self.assertEqual(head["ObjectLockMode"], "COMPLIANCE")
        # Veeam extends the retention of the blocks it still needs.
        until = now() + datetime.timedelta(seconds=12)
        self.s3.put_object_retention(Bucket="vault", Key="veeam/full.vbk", VersionId=vid,
                                     Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
        got = self.s3.get_object_retention(Bucket="vault", Key="veeam/full.vbk", VersionId=vid)
        self.assertEqual(got["Retention"]["Mode"], "COMPLIANCE")
        self.assertAlmostEqual(got["Retention"]["RetainUntilDate"].timestamp(),
                               until.timestamp(), delta=1)
        # Nobody shortens or removes COMPLIANCE, not even with the bypass.
        self.refused(self.s3.put_object_retention, Bucket="vault", Key="veeam/full.vbk",
                     VersionId=vid, BypassGovernanceRetention=True,
                     Retention={"Mode": "COMPLIANCE",
                                "RetainUntilDate": now() + datetime.timedelta(seconds=3)})
        self.refused(self.s3.put_object_retention, Bucket="vault", Key="veeam/full.vbk",
                     VersionId=vid, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
        # Deleting the version is refused; deleting the key only writes a marker.
        self.refused(self.s3.delete_object, Bucket="vault", Key="veeam/full.vbk", VersionId=vid)
        self.refused(self.s3.delete_object, Bucket="vault", Key="veeam/full.vbk", VersionId=vid,
                     BypassGovernanceRetention=True)
        marker = self.s3.delete_object(Bucket="vault", Key="veeam/full.vbk")
        self.assertTrue(marker["DeleteMarker"])
        r = self.s3.delete_objects(Bucket="vault", Delete={"Objects": [
            {"Key": "veeam/full.vbk", "VersionId": vid}]})
        self.assertEqual(r["Errors"][0]["Code"], "AccessDenied")
        # An "overwrite" is a new version: the locked one reads back as it was.
        self.s3.put_object(Bucket="vault", Key="veeam/full.vbk", Body=b"ransomware")
        old = self.s3.get_object(Bucket="vault", Key="veeam/full.vbk", VersionId=vid)
        self.assertEqual(old["Body"].read(), body)
        # Once the retention passed, the version can go.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.s3.delete_object(Bucket="vault", Key="veeam/full.vbk", VersionId=vid)
                break
            except self.s3.exceptions.ClientError:
                time.sleep(1)
        code, _ = self.error_code(self.s3.get_object, Bucket="vault", Key="veeam/full.vbk",
                                  VersionId=vid)
        self.assertEqual(code, "NoSuchVersion")

    def test_governance_needs_bypass_from_an_allowed_key(self):
        vid = self.put_locked("gov", b"g", "GOVERNANCE", 3600)["VersionId"]
        self.refused(self.s3.delete_object, Bucket="vault", Key="gov", VersionId=vid)
        key_id, secret = self.dev.create_key("writer", [("vault", "write")])
        writer = self.dev.client(key_id, secret)
        self.refused(writer.delete_object, Bucket="vault", Key="gov", VersionId=vid,
                     BypassGovernanceRetention=True)
        self.refused(writer.put_object_retention, Bucket="vault", Key="gov", VersionId=vid,
                     BypassGovernanceRetention=True, Retention={})
        # Extending is allowed to anyone who may write.
        writer.put_object_retention(Bucket="vault", Key="gov", VersionId=vid, Retention={
            "Mode": "GOVERNANCE", "RetainUntilDate": now() + datetime.timedelta(hours=2)})
        self.s3.delete_object(Bucket="vault", Key="gov", VersionId=vid,
                              BypassGovernanceRetention=True)
        code, _ = self.error_code(self.s3.head_object, Bucket="vault", Key="gov", VersionId=vid)
        self.assertEqual(code, "404")

    def test_legal_hold_blocks_deletion_until_released(self):
        body = b"evidence"
        vid = self.s3.put_object(Bucket="vault", Key="held", Body=body, ContentMD5=md5(body),
                                 ObjectLockLegalHoldStatus="ON")["VersionId"]
        self.assertEqual(self.s3.get_object_legal_hold(
            Bucket="vault", Key="held", VersionId=vid)["LegalHold"]["Status"], "ON")
        self.refused(self.s3.delete_object, Bucket="vault", Key="held", VersionId=vid,
                     BypassGovernanceRetention=True)
        self.s3.put_object_legal_hold(Bucket="vault", Key="held", VersionId=vid,
                                      LegalHold={"Status": "OFF"})
        self.s3.delete_object(Bucket="vault", Key="held", VersionId=vid)

    def test_overwrite_under_legal_hold_keeps_the_held_version(self):
        body = b"held for the court"
        held = self.s3.put_object(Bucket="vault", Key="case", Body=body, ContentMD5=md5(body),
                                  ObjectLockLegalHoldStatus="ON")["VersionId"]
        # An overwrite, by PUT and by CopyObject, is a new version: the held one stays.
        newer = self.s3.put_object(Bucket="vault", Key="case", Body=b"overwritten")["VersionId"]
        copied = self.s3.copy_object(Bucket="vault", Key="case", MetadataDirective="REPLACE",
                                     Metadata={"copy": "1"}, CopySource={
                                         "Bucket": "vault", "Key": "case",
                                         "VersionId": newer})["VersionId"]
        self.assertEqual(len({held, newer, copied}), 3)
        self.assertEqual(self.s3.get_object(Bucket="vault", Key="case")["Body"].read(),
                         b"overwritten")
        got = self.s3.get_object(Bucket="vault", Key="case", VersionId=held)
        self.assertEqual((got["Body"].read(), got["ObjectLockLegalHoldStatus"]), (body, "ON"))
        self.refused(self.s3.delete_object, Bucket="vault", Key="case", VersionId=held)
        # The newer versions carry no hold of their own and go; the held one is still there.
        for version in (copied, newer):
            self.s3.delete_object(Bucket="vault", Key="case", VersionId=version)
        self.assertEqual(self.s3.get_object(Bucket="vault", Key="case")["Body"].read(), body)
        self.s3.put_object_legal_hold(Bucket="vault", Key="case", VersionId=held,
                                      LegalHold={"Status": "OFF"})
        self.s3.delete_object(Bucket="vault", Key="case", VersionId=held)

    def test_legal_hold_never_set_has_no_configuration(self):
        # S3: NoSuchObjectLockConfiguration until a hold is set; OFF once set and released.
        vid = self.s3.put_object(Bucket="vault", Key="never-held", Body=b"n")["VersionId"]
        code, status = self.error_code(self.s3.get_object_legal_hold, Bucket="vault",
                                       Key="never-held", VersionId=vid)
        self.assertEqual((code, status), ("NoSuchObjectLockConfiguration", 404))
        self.s3.put_object_legal_hold(Bucket="vault", Key="never-held", VersionId=vid,
                                      LegalHold={"Status": "OFF"})
        self.assertEqual(self.s3.get_object_legal_hold(
            Bucket="vault", Key="never-held", VersionId=vid)["LegalHold"]["Status"], "OFF")
        body = b"off at the write"
        vid = self.s3.put_object(Bucket="vault", Key="held-off", Body=body, ContentMD5=md5(body),
                                 ObjectLockLegalHoldStatus="OFF")["VersionId"]
        self.assertEqual(self.s3.get_object_legal_hold(
            Bucket="vault", Key="held-off", VersionId=vid)["LegalHold"]["Status"], "OFF")

    def test_lock_configuration_needs_an_integrity_header(self):
        self.s3.create_bucket(Bucket="vault-md5", ObjectLockEnabledForBucket=True)
        bare = self.dev.client()

        def strip(request, **_):
            for name in list(request.headers.keys()):
                if name.lower() == "content-md5" or name.lower().startswith("x-amz-checksum-") \
                        or name.lower() == "x-amz-sdk-checksum-algorithm":
                    del request.headers[name]
        bare.meta.events.register("before-sign.s3.PutObjectLockConfiguration", strip)
        conf = {"ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
        code, status = self.error_code(bare.put_object_lock_configuration, Bucket="vault-md5",
                                       ObjectLockConfiguration=conf)
        self.assertEqual((code, status), ("InvalidRequest", 400))
        self.assertNotIn("Rule", self.s3.get_object_lock_configuration(
            Bucket="vault-md5")["ObjectLockConfiguration"])
        self.s3.put_object_lock_configuration(Bucket="vault-md5", ObjectLockConfiguration=conf)
        self.assertIn("Rule", self.s3.get_object_lock_configuration(
            Bucket="vault-md5")["ObjectLockConfiguration"])

    def test_default_retention_applies_to_new_versions(self):
        self.s3.create_bucket(Bucket="vault-default", ObjectLockEnabledForBucket=True)
        self.s3.put_object_lock_configuration(Bucket="vault-default", ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
        conf = self.s3.get_object_lock_configuration(Bucket="vault-default")
        self.assertEqual(conf["ObjectLockConfiguration"]["Rule"]["DefaultRetention"],
                         {"Mode": "GOVERNANCE", "Days": 1})
        vid = self.s3.put_object(Bucket="vault-default", Key="k", Body=b"x")["VersionId"]
        got = self.s3.get_object_retention(Bucket="vault-default", Key="k", VersionId=vid)
        self.assertEqual(got["Retention"]["Mode"], "GOVERNANCE")
        self.refused(self.s3.delete_object, Bucket="vault-default", Key="k", VersionId=vid)

    def test_refusals_as_aws_documents(self):
        self.s3.create_bucket(Bucket="unlocked")
        code, status = self.error_code(self.s3.get_object_lock_configuration, Bucket="unlocked")
        self.assertEqual((code, status), ("ObjectLockConfigurationNotFoundError", 404))
        body = b"b"
        code, status = self.error_code(
            self.s3.put_object, Bucket="unlocked", Key="k", Body=body, ContentMD5=md5(body),
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=now() + datetime.timedelta(days=1))
        self.assertEqual((code, status), ("InvalidRequest", 400))
        code, status = self.error_code(
            self.s3.put_object, Bucket="vault", Key="k", Body=body, ContentMD5=md5(body),
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=now() - datetime.timedelta(days=1))
        self.assertEqual((code, status), ("InvalidArgument", 400))
        code, status = self.error_code(
            self.s3.put_object, Bucket="vault", Key="k", Body=body, ContentMD5=md5(body),
            ObjectLockMode="FOREVER",
            ObjectLockRetainUntilDate=now() + datetime.timedelta(days=1))
        self.assertEqual((code, status), ("InvalidArgument", 400))
        self.s3.put_object(Bucket="vault", Key="plain", Body=b"p")
        code, status = self.error_code(self.s3.get_object_retention, Bucket="vault",
                                       Key="plain")
        self.assertEqual((code, status), ("NoSuchObjectLockConfiguration", 404))


if __name__ == "__main__":
    unittest.main()
