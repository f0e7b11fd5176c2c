"""S3 as its API reference documents it, operation by operation (issue 19's systematic pass,
docs/s3-compatibility.md): the deviations that pass found, each driven through boto3 or a
raw SigV4-signed request against a real `mosaic dev` — 416 answers that name the object's
size, ACLs read and refused as on a bucket whose ACLs are disabled, x-amz-website-redirect-location
kept and returned, and the operations Mosaic does not implement answering 501."""

import sys
import unittest

from exact_test import ExactTestCase


class RangeTest(ExactTestCase):
    bucket = "ranges"
    objects = {"ten": b"0123456789", "empty": b""}

    def test_unsatisfiable_range_names_the_size(self):
        # RFC 9110 §15.5.17: a 416 carries Content-Range: bytes */size; S3's error document
        # names the range asked for and the object's size.
        for key, header, size in (("ten", "bytes=20-30", "10"), ("ten", "bytes=10-", "10"),
                                  ("empty", "bytes=0-0", "0")):
            status, headers, data = self.raw("GET", "/ranges/" + key,
                                             headers={"Range": header})
            self.assertEqual(status, 416, header)
            self.assertEqual(headers.get("content-range"), "bytes */" + size, header)
            root = self.xml(data)
            self.assertEqual(self.text(root, "Code"), "InvalidRange")
            self.assertEqual(self.text(root, "RangeRequested"), header)
            self.assertEqual(self.text(root, "ActualObjectSize"), size)

    def test_satisfiable_ranges_are_unchanged(self):
        status, headers, data = self.raw("GET", "/ranges/ten", headers={"Range": "bytes=8-20"})
        self.assertEqual((status, headers.get("content-range"), data), (206, "bytes 8-9/10", b"89"))
        # A range that is not one well-formed byte range is ignored (RFC 9110): the whole object.
        status, headers, data = self.raw("GET", "/ranges/ten", headers={"Range": "bytes=5-2"})
        self.assertEqual((status, "content-range" in headers, data), (200, False, b"0123456789"))


class AclTest(ExactTestCase):
    """Mosaic has no ACLs: like an S3 bucket with Object Ownership "bucket owner enforced"
    (S3's default since April 2023), a write may name an ACL giving the owner alone rights,
    and one that would share the data is refused rather than silently ignored."""

    bucket = "acls"

    def test_owner_only_acls_are_accepted(self):
        for acl in ("private", "bucket-owner-full-control"):
            self.s3.put_object(Bucket="acls", Key=acl, Body=b"x", ACL=acl)
            self.assertEqual(self.s3.get_object(Bucket="acls", Key=acl)["Body"].read(), b"x")
        up = self.s3.create_multipart_upload(Bucket="acls", Key="mp", ACL="private")["UploadId"]
        self.s3.abort_multipart_upload(Bucket="acls", Key="mp", UploadId=up)
        self.s3.create_bucket(Bucket="acls-private", ACL="private")

    def test_sharing_acls_are_refused_and_store_nothing(self):
        for acl in ("public-read", "public-read-write", "authenticated-read"):
            self.assertEqual(self.error_code(self.s3.put_object, Bucket="acls", Key="shared",
                                             Body=b"x", ACL=acl),
                             ("AccessControlListNotSupported", 400), acl)
        self.assertEqual(self.error_code(self.s3.put_object, Bucket="acls", Key="shared",
                                         Body=b"x", GrantRead='uri="http://acs.amazonaws.com/'
                                                              'groups/global/AllUsers"'),
                         ("AccessControlListNotSupported", 400))
        self.assertEqual(self.error_code(self.s3.create_multipart_upload, Bucket="acls",
                                         Key="shared", ACL="public-read"),
                         ("AccessControlListNotSupported", 400))
        self.s3.put_object(Bucket="acls", Key="source", Body=b"s")
        self.assertEqual(self.error_code(self.s3.copy_object, Bucket="acls", Key="shared",
                                         CopySource="acls/source", ACL="public-read"),
                         ("AccessControlListNotSupported", 400))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="acls", Key="shared")[1],
                         404)
        status, _, data = self.raw("PUT", "/acls/shared", headers={"x-amz-acl": "everyone"},
                                   body=b"x")
        self.assertEqual((status, self.text(self.xml(data), "Code")), (400, "InvalidArgument"))

    def test_create_bucket_with_a_sharing_acl(self):
        self.assertEqual(self.error_code(self.s3.create_bucket, Bucket="acls-public",
                                         ACL="public-read"),
                         ("InvalidBucketAclWithObjectOwnership", 400))
        self.assertEqual(self.error_code(self.s3.head_bucket, Bucket="acls-public")[1], 404)
        self.s3.create_bucket(Bucket="acls-enforced", ObjectOwnership="BucketOwnerEnforced")
        self.assertEqual(self.error_code(self.s3.create_bucket, Bucket="acls-writer",
                                         ObjectOwnership="ObjectWriter"),
                         ("NotImplemented", 501))
        self.assertEqual(self.error_code(self.s3.head_bucket, Bucket="acls-writer")[1], 404)


class AclReadTest(ExactTestCase):
    """Reading an ACL works as on an ACL-disabled S3 bucket (the owner with FULL_CONTROL);
    setting one is AccessControlListNotSupported unless it changes nothing."""

    bucket = "aclread"
    objects = {"k": b"v"}

    def owner_only(self, acl):
        self.assertEqual(acl["Owner"]["ID"], self.dev.env["AWS_ACCESS_KEY_ID"])
        self.assertEqual([(g["Grantee"]["Type"], g["Grantee"]["ID"], g["Permission"])
                          for g in acl["Grants"]],
                         [("CanonicalUser", acl["Owner"]["ID"], "FULL_CONTROL")])

    def test_get_acls_show_the_owner_with_full_control(self):
        self.owner_only(self.s3.get_bucket_acl(Bucket="aclread"))
        self.owner_only(self.s3.get_object_acl(Bucket="aclread", Key="k"))
        self.assertEqual(self.error_code(self.s3.get_object_acl, Bucket="aclread",
                                         Key="missing"), ("NoSuchKey", 404))
        self.assertEqual(self.error_code(self.s3.get_bucket_acl, Bucket="no-such-bucket"),
                         ("NoSuchBucket", 404))

    def test_put_acls(self):
        for acl in ("private", "bucket-owner-full-control"):
            self.s3.put_bucket_acl(Bucket="aclread", ACL=acl)
            self.s3.put_object_acl(Bucket="aclread", Key="k", ACL=acl)
        self.assertEqual(self.error_code(self.s3.put_bucket_acl, Bucket="aclread",
                                         ACL="public-read"),
                         ("AccessControlListNotSupported", 400))
        self.assertEqual(self.error_code(self.s3.put_object_acl, Bucket="aclread", Key="k",
                                         ACL="public-read"),
                         ("AccessControlListNotSupported", 400))
        owner = self.s3.get_object_acl(Bucket="aclread", Key="k")["Owner"]
        policy = {"Owner": owner, "Grants": [{"Grantee": {"Type": "Group", "URI":
                  "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}
        self.assertEqual(self.error_code(self.s3.put_object_acl, Bucket="aclread", Key="k",
                                         AccessControlPolicy=policy),
                         ("AccessControlListNotSupported", 400))
        self.owner_only(self.s3.get_object_acl(Bucket="aclread", Key="k"))


class RedirectTest(ExactTestCase):
    bucket = "redirects"

    def test_redirect_location_is_kept_and_returned(self):
        for target in ("/elsewhere.html", "https://example.org/x"):
            self.s3.put_object(Bucket="redirects", Key="r", Body=b"x",
                               WebsiteRedirectLocation=target)
            self.assertEqual(self.s3.head_object(Bucket="redirects", Key="r")
                             ["WebsiteRedirectLocation"], target)
            self.assertEqual(self.s3.get_object(Bucket="redirects", Key="r")
                             ["WebsiteRedirectLocation"], target)
        up = self.s3.create_multipart_upload(Bucket="redirects", Key="mp",
                                             WebsiteRedirectLocation="/mp")["UploadId"]
        etag = self.s3.upload_part(Bucket="redirects", Key="mp", UploadId=up, PartNumber=1,
                                   Body=b"part")["ETag"]
        self.s3.complete_multipart_upload(Bucket="redirects", Key="mp", UploadId=up,
                                          MultipartUpload={"Parts": [{"PartNumber": 1,
                                                                      "ETag": etag}]})
        self.assertEqual(self.s3.head_object(Bucket="redirects", Key="mp")
                         ["WebsiteRedirectLocation"], "/mp")

    def test_bad_redirect_location_is_refused(self):
        for target in ("elsewhere.html", "ftp://example.org/", "/" + "x" * 2048):
            self.assertEqual(self.error_code(self.s3.put_object, Bucket="redirects", Key="bad",
                                             Body=b"x", WebsiteRedirectLocation=target),
                             ("InvalidRedirectLocation", 400), target[:20])
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="redirects", Key="bad")[1],
                         404)

    def test_copy_does_not_carry_the_redirect(self):
        # S3: the redirect is not copied with the metadata; the copy request may give one, and
        # a copy onto itself that does is a change, not an illegal copy.
        self.s3.put_object(Bucket="redirects", Key="src", Body=b"s",
                           WebsiteRedirectLocation="/target", Metadata={"m": "1"})
        self.s3.copy_object(Bucket="redirects", Key="plain", CopySource="redirects/src")
        head = self.s3.head_object(Bucket="redirects", Key="plain")
        self.assertNotIn("WebsiteRedirectLocation", head)
        self.assertEqual(head["Metadata"], {"m": "1"})
        self.s3.copy_object(Bucket="redirects", Key="src", CopySource="redirects/src",
                            WebsiteRedirectLocation="/moved")
        head = self.s3.head_object(Bucket="redirects", Key="src")
        self.assertEqual((head["WebsiteRedirectLocation"], head["Metadata"]),
                         ("/moved", {"m": "1"}))


class UnimplementedTest(ExactTestCase):
    bucket = "nothere"
    objects = {"k": b"v"}

    def test_unimplemented_operations_answer_501(self):
        policy = '{"Version":"2012-10-17","Statement":[]}'
        calls = (
            (self.s3.put_bucket_policy, {"Bucket": "nothere", "Policy": policy}),
            (self.s3.put_bucket_cors, {"Bucket": "nothere", "CORSConfiguration": {
                "CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}}),
            (self.s3.put_bucket_replication, {"Bucket": "nothere", "ReplicationConfiguration": {
                "Role": "arn:aws:iam::1:role/r", "Rules": [{
                    "Status": "Enabled", "Prefix": "",
                    "Destination": {"Bucket": "arn:aws:s3:::other"}}]}}),
            (self.s3.restore_object, {"Bucket": "nothere", "Key": "k",
                                      "RestoreRequest": {"Days": 1}}),
            (self.s3.put_bucket_tagging, {"Bucket": "nothere", "Tagging": {
                "TagSet": [{"Key": "a", "Value": "b"}]}}),
            (self.s3.get_bucket_encryption, {"Bucket": "nothere"}),
            (self.s3.get_object_torrent, {"Bucket": "nothere", "Key": "k"}),
        )
        for call, kwargs in calls:
            self.assertEqual(self.error_code(call, **kwargs), ("NotImplemented", 501),
                             call.__name__)
        # SelectObjectContent answers an event stream when it works: checked raw.
        status, _, data = self.raw("POST", "/nothere/k", [("select", ""), ("select-type", "2")],
                                   body=b"<SelectObjectContentRequest/>")
        self.assertEqual((status, self.text(self.xml(data), "Code")), (501, "NotImplemented"))
        self.assertEqual(self.s3.get_object(Bucket="nothere", Key="k")["Body"].read(), b"v")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:], verbosity=2)
