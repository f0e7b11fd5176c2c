"""S3 versioning (issue 16) through boto3 and rclone against a real `mosaic dev`: bucket
versioning states, versions made by PUT, copy and multipart, delete markers, deleting a
version for good, the suspended bucket's null version, ListObjectVersions with markers,
prefixes and delimiters (2,500 versions paged), DeleteObjects with version ids, tagging of a
version, and rclone --s3-versions / --s3-version-at restoring an old version."""

import datetime
import hashlib
import base64
import os
import subprocess
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import harness


def versions_of(s3, bucket, **kw):
    """Every (key, version id, is latest, is marker, last modified) of the bucket, paging with
    MaxKeys: each page's versions, then its delete markers (boto3 parses them apart)."""
    out = []
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, **kw):
        rows = [(v["Key"], v["VersionId"], v["IsLatest"], False, v["LastModified"])
                for v in page.get("Versions", [])]
        rows += [(m["Key"], m["VersionId"], m["IsLatest"], True, m["LastModified"])
                 for m in page.get("DeleteMarkers", [])]
        out += rows
    return out


def md5_header(body):
    return base64.b64encode(hashlib.md5(body).digest()).decode()


class VersioningTest(harness.DevTestCase):
    def make_bucket(self, name, status="Enabled"):
        self.s3.create_bucket(Bucket=name)
        if status:
            self.s3.put_bucket_versioning(Bucket=name,
                                          VersioningConfiguration={"Status": status})

    def test_versioning_states_never_return_to_unversioned(self):
        self.make_bucket("states", status=None)
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket="states"))
        put = self.s3.put_object(Bucket="states", Key="k", Body=b"x")
        self.assertNotIn("VersionId", put)
        self.s3.put_bucket_versioning(Bucket="states",
                                      VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket="states")["Status"], "Enabled")
        self.s3.put_bucket_versioning(Bucket="states",
                                      VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket="states")["Status"], "Suspended")
        code, status = self.error_code(self.s3.put_bucket_versioning, Bucket="states",
                                       VersioningConfiguration={"Status": "Disabled"})
        self.assertEqual((code, status), ("MalformedXML", 400))

    def test_put_creates_versions_each_readable_by_id(self):
        self.make_bucket("puts")
        ids = [self.s3.put_object(Bucket="puts", Key="doc", Body=b"v%d" % i)["VersionId"]
               for i in range(3)]
        self.assertEqual(len(set(ids)), 3)
        for i, vid in enumerate(ids):
            got = self.s3.get_object(Bucket="puts", Key="doc", VersionId=vid)
            self.assertEqual(got["Body"].read(), b"v%d" % i)
            self.assertEqual(got["VersionId"], vid)
            head = self.s3.head_object(Bucket="puts", Key="doc", VersionId=vid)
            self.assertEqual(head["ContentLength"], 2)
        latest = self.s3.get_object(Bucket="puts", Key="doc")
        self.assertEqual((latest["Body"].read(), latest["VersionId"]), (b"v2", ids[2]))
        listed = versions_of(self.s3, "puts")
        self.assertEqual([(k, v, l) for k, v, l, _, _ in listed],
                         [("doc", ids[2], True), ("doc", ids[1], False), ("doc", ids[0], False)])
        code, status = self.error_code(self.s3.get_object, Bucket="puts", Key="doc",
                                       VersionId="0000000000000001deadbeef")
        self.assertEqual((code, status), ("NoSuchVersion", 404))

    def test_delete_marker_hides_and_its_removal_restores(self):
        self.make_bucket("markers")
        v1 = self.s3.put_object(Bucket="markers", Key="a/b", Body=b"one")["VersionId"]
        d = self.s3.delete_object(Bucket="markers", Key="a/b")
        self.assertTrue(d["DeleteMarker"])
        marker = d["VersionId"]
        self.assertNotEqual(marker, v1)
        with self.assertRaises(Exception) as cm:
            self.s3.get_object(Bucket="markers", Key="a/b")
        r = cm.exception.response
        self.assertEqual((r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]),
                         ("NoSuchKey", 404))
        headers = r["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(headers.get("x-amz-delete-marker"), "true")
        self.assertEqual(headers.get("x-amz-version-id"), marker)
        code, status = self.error_code(self.s3.get_object, Bucket="markers", Key="a/b",
                                       VersionId=marker)
        self.assertEqual((code, status), ("MethodNotAllowed", 405))
        self.assertEqual(self.s3.list_objects_v2(Bucket="markers")["KeyCount"], 0)
        listed = versions_of(self.s3, "markers")
        self.assertEqual([(v, l, m) for _, v, l, m, _ in listed],
                         [(v1, False, False), (marker, True, True)])
        # The old version is still there, and removing the marker brings it back.
        got = self.s3.get_object(Bucket="markers", Key="a/b", VersionId=v1)
        self.assertEqual(got["Body"].read(), b"one")
        d = self.s3.delete_object(Bucket="markers", Key="a/b", VersionId=marker)
        self.assertTrue(d["DeleteMarker"])
        self.assertEqual(d["VersionId"], marker)
        self.assertEqual(self.s3.get_object(Bucket="markers", Key="a/b")["Body"].read(), b"one")

    def test_delete_version_for_good(self):
        self.make_bucket("forgood")
        v1 = self.s3.put_object(Bucket="forgood", Key="k", Body=b"first")["VersionId"]
        v2 = self.s3.put_object(Bucket="forgood", Key="k", Body=b"second")["VersionId"]
        d = self.s3.delete_object(Bucket="forgood", Key="k", VersionId=v2)
        self.assertEqual(d["VersionId"], v2)
        self.assertNotIn("DeleteMarker", d)
        # The older version is current again; the deleted one is gone.
        got = self.s3.get_object(Bucket="forgood", Key="k")
        self.assertEqual((got["Body"].read(), got["VersionId"]), (b"first", v1))
        code, _ = self.error_code(self.s3.get_object, Bucket="forgood", Key="k", VersionId=v2)
        self.assertEqual(code, "NoSuchVersion")
        self.s3.delete_object(Bucket="forgood", Key="k", VersionId=v1)
        self.assertEqual(versions_of(self.s3, "forgood"), [])
        self.s3.delete_bucket(Bucket="forgood")

    def test_bucket_with_versions_only_is_not_empty(self):
        self.make_bucket("notempty")
        self.s3.put_object(Bucket="notempty", Key="k", Body=b"x")
        self.s3.delete_object(Bucket="notempty", Key="k")
        self.assertEqual(self.s3.list_objects_v2(Bucket="notempty")["KeyCount"], 0)
        code, _ = self.error_code(self.s3.delete_bucket, Bucket="notempty")
        self.assertEqual(code, "BucketNotEmpty")

    def test_suspended_bucket_writes_the_null_version(self):
        self.make_bucket("suspended")
        kept = self.s3.put_object(Bucket="suspended", Key="k", Body=b"kept")["VersionId"]
        self.s3.put_bucket_versioning(Bucket="suspended",
                                      VersioningConfiguration={"Status": "Suspended"})
        self.s3.put_object(Bucket="suspended", Key="k", Body=b"null one")
        self.s3.put_object(Bucket="suspended", Key="k", Body=b"null two")
        listed = versions_of(self.s3, "suspended")
        self.assertEqual([(v, l) for _, v, l, _, _ in listed], [("null", True), (kept, False)])
        got = self.s3.get_object(Bucket="suspended", Key="k", VersionId="null")
        self.assertEqual(got["Body"].read(), b"null two")
        # Read without a version id, the null version still says which it is (as S3 does).
        self.assertEqual(self.s3.get_object(Bucket="suspended", Key="k")["VersionId"], "null")
        self.assertEqual(self.s3.head_object(Bucket="suspended", Key="k")["VersionId"], "null")
        d = self.s3.delete_object(Bucket="suspended", Key="k")
        self.assertEqual((d["DeleteMarker"], d["VersionId"]), (True, "null"))
        listed = versions_of(self.s3, "suspended")
        self.assertEqual(sorted((v, l, m) for _, v, l, m, _ in listed),
                         sorted([("null", True, True), (kept, False, False)]))

    def test_unversioned_bucket_lists_null_versions(self):
        self.make_bucket("plain", status=None)
        for key in ("x", "y/z"):
            self.s3.put_object(Bucket="plain", Key=key, Body=b"p")
        listed = versions_of(self.s3, "plain")
        self.assertEqual([(k, v, l) for k, v, l, _, _ in listed],
                         [("x", "null", True), ("y/z", "null", True)])
        got = self.s3.get_object(Bucket="plain", Key="x", VersionId="null")
        self.assertEqual(got["Body"].read(), b"p")
        # Never versioned: no x-amz-version-id without a version id asked for.
        self.assertNotIn("VersionId", self.s3.head_object(Bucket="plain", Key="x"))
        # Versioning enabled later: the object written before is the null version, shown so.
        self.s3.put_bucket_versioning(Bucket="plain",
                                      VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.head_object(Bucket="plain", Key="x")["VersionId"], "null")
        self.s3.delete_object(Bucket="plain", Key="x", VersionId="null")
        self.assertEqual(self.s3.list_objects_v2(Bucket="plain")["KeyCount"], 1)

    def test_copy_restores_an_old_version(self):
        self.make_bucket("restore")
        old = self.s3.put_object(Bucket="restore", Key="f", Body=b"good")["VersionId"]
        self.s3.put_object(Bucket="restore", Key="f", Body=b"encrypted by ransomware")
        r = self.s3.copy_object(Bucket="restore", Key="f",
                                CopySource={"Bucket": "restore", "Key": "f", "VersionId": old})
        self.assertEqual(r["CopySourceVersionId"], old)
        self.assertNotEqual(r["VersionId"], old)
        got = self.s3.get_object(Bucket="restore", Key="f")
        self.assertEqual((got["Body"].read(), got["VersionId"]), (b"good", r["VersionId"]))
        self.assertEqual(len(versions_of(self.s3, "restore")), 3)
        marker = self.s3.delete_object(Bucket="restore", Key="f")["VersionId"]
        code, status = self.error_code(
            self.s3.copy_object, Bucket="restore", Key="g",
            CopySource={"Bucket": "restore", "Key": "f", "VersionId": marker})
        self.assertEqual((code, status), ("InvalidRequest", 400))
        code, _ = self.error_code(self.s3.copy_object, Bucket="restore", Key="g",
                                  CopySource={"Bucket": "restore", "Key": "f"})
        self.assertEqual(code, "NoSuchKey")

    def test_multipart_completion_creates_a_version(self):
        self.make_bucket("mpu")
        first = self.s3.put_object(Bucket="mpu", Key="big", Body=b"small")["VersionId"]
        up = self.s3.create_multipart_upload(Bucket="mpu", Key="big")
        part = self.s3.upload_part(Bucket="mpu", Key="big", UploadId=up["UploadId"],
                                   PartNumber=1, Body=b"z" * 1000)
        done = self.s3.complete_multipart_upload(
            Bucket="mpu", Key="big", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertIn("VersionId", done)
        self.assertNotEqual(done["VersionId"], first)
        self.assertEqual(self.s3.get_object(Bucket="mpu", Key="big",
                                            VersionId=first)["Body"].read(), b"small")
        self.assertEqual(self.s3.head_object(Bucket="mpu", Key="big")["ContentLength"], 1000)

    def test_delete_objects_with_version_ids(self):
        self.make_bucket("batch")
        a1 = self.s3.put_object(Bucket="batch", Key="a", Body=b"1")["VersionId"]
        a2 = self.s3.put_object(Bucket="batch", Key="a", Body=b"2")["VersionId"]
        self.s3.put_object(Bucket="batch", Key="b", Body=b"3")
        r = self.s3.delete_objects(Bucket="batch", Delete={"Objects": [
            {"Key": "a", "VersionId": a1}, {"Key": "b"}]})
        deleted = {d["Key"]: d for d in r["Deleted"]}
        self.assertEqual(deleted["a"]["VersionId"], a1)
        self.assertTrue(deleted["b"]["DeleteMarker"])
        self.assertIn("DeleteMarkerVersionId", deleted["b"])
        listed = versions_of(self.s3, "batch")
        self.assertEqual(sorted((k, l, m) for k, _, l, m, _ in listed),
                         [("a", True, False), ("b", False, False), ("b", True, True)])
        self.assertIn((a2, True), [(v, l) for k, v, l, _, _ in listed if k == "a"])
        self.assertIn(deleted["b"]["DeleteMarkerVersionId"], [v for _, v, _, _, _ in listed])

    def test_tagging_a_version(self):
        self.make_bucket("tags")
        v1 = self.s3.put_object(Bucket="tags", Key="t", Body=b"1")["VersionId"]
        self.s3.put_object(Bucket="tags", Key="t", Body=b"2", Tagging="now=2")
        self.s3.put_object_tagging(Bucket="tags", Key="t", VersionId=v1,
                                   Tagging={"TagSet": [{"Key": "old", "Value": "1"}]})
        got = self.s3.get_object_tagging(Bucket="tags", Key="t", VersionId=v1)
        self.assertEqual((got["TagSet"], got["VersionId"]), ([{"Key": "old", "Value": "1"}], v1))
        self.assertEqual(self.s3.get_object_tagging(Bucket="tags", Key="t")["TagSet"],
                         [{"Key": "now", "Value": "2"}])

    def test_listing_with_prefix_delimiter_and_url_encoding(self):
        self.make_bucket("tree")
        for key in ("d1/a", "d1/a", "d2/b", "top", "top"):
            self.s3.put_object(Bucket="tree", Key=key, Body=b".")
        r = self.s3.list_object_versions(Bucket="tree", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["d1/", "d2/"])
        self.assertEqual([v["Key"] for v in r["Versions"]], ["top", "top"])
        r = self.s3.list_object_versions(Bucket="tree", Prefix="d1/")
        self.assertEqual(len(r["Versions"]), 2)
        pages = list(self.s3.get_paginator("list_object_versions").paginate(
            Bucket="tree", Delimiter="/", PaginationConfig={"PageSize": 1}))
        seen = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
        seen += [v["Key"] for page in pages for v in page.get("Versions", [])]
        self.assertEqual(sorted(seen), ["d1/", "d2/", "top", "top"])
        self.assertGreaterEqual(len(pages), 4)
        code, _ = self.error_code(self.s3.list_object_versions, Bucket="tree",
                                  VersionIdMarker="null")
        self.assertEqual(code, "InvalidArgument")

    def test_pagination_across_2500_versions(self):
        self.make_bucket("many")
        keys = ["k%02d" % (i % 25) for i in range(2500)]
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda k: self.s3.put_object(
                Bucket="many", Key=k, Body=b"")["VersionId"], keys))
        self.assertEqual(len(set(ids)), 2500)
        for page_size in (1000, 7):
            listed = versions_of(self.s3, "many", PaginationConfig={"PageSize": page_size})
            self.assertEqual(len(listed), 2500)
            self.assertEqual({v for _, v, _, _, _ in listed}, set(ids))
            self.assertEqual([k for k, _, _, _, _ in listed], sorted(keys))
            latest = [k for k, _, l, _, _ in listed if l]
            self.assertEqual(latest, sorted(set(keys)))
            # Newest first within a key: in commit order, which the ids' first 16 hex digits
            # carry (LastModified is taken once a PUT's data is stored, before its metadata
            # commits, so racing PUTs of one key may commit in another order).
            for i in range(1, len(listed)):
                if listed[i][0] == listed[i - 1][0]:
                    self.assertLess(listed[i][1][:16], listed[i - 1][1][:16])
        # A page starting at a key and version marker continues right after that version.
        r = self.s3.list_object_versions(Bucket="many", MaxKeys=3)
        nxt = self.s3.list_object_versions(Bucket="many", MaxKeys=2,
                                           KeyMarker=r["NextKeyMarker"],
                                           VersionIdMarker=r["NextVersionIdMarker"])
        both = self.s3.list_object_versions(Bucket="many", MaxKeys=5)
        self.assertEqual([v["VersionId"] for v in r["Versions"] + nxt["Versions"]],
                         [v["VersionId"] for v in both["Versions"]])

    def test_rclone_versions_and_version_at_restore_an_old_version(self):
        self.make_bucket("rcv")
        self.s3.put_object(Bucket="rcv", Key="backup.tar", Body=b"monday")
        time.sleep(1.5)  # distinct seconds: --s3-version-at has a resolution of a second
        between = datetime.datetime.now(datetime.timezone.utc)
        time.sleep(1.5)
        self.s3.put_object(Bucket="rcv", Key="backup.tar", Body=b"tuesday!")
        env = self.dev.rclone_env()
        out = subprocess.run(["rclone", "lsf", "--s3-versions", "mosaic:rcv"], env=env,
                             check=True, capture_output=True, timeout=120).stdout.decode()
        names = sorted(out.split())
        self.assertEqual(len(names), 2, out)
        self.assertIn("backup.tar", names)
        at = between.strftime("%Y-%m-%dT%H:%M:%SZ")
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(["rclone", "copy", "--s3-version-at", at, "mosaic:rcv", d], env=env,
                           check=True, capture_output=True, timeout=120)
            with open(os.path.join(d, "backup.tar"), "rb") as f:
                self.assertEqual(f.read(), b"monday")


if __name__ == "__main__":
    unittest.main()
