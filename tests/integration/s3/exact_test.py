"""S3 exactly as AWS documents it (issue 19): the answers real clients rely on — repeated
CompleteMultipartUpload, CreateBucket of an owned bucket, max-keys=0, listing echoes, 304
headers, digest errors, ?partNumber errors, aws-chunked Content-Encoding, chunked PUTs,
If-None-Match lists, server-side encryption headers — each driven through boto3 or a raw
SigV4-signed request against a real `mosaic dev`."""

import base64
import binascii
import hashlib
import http.client
import sys
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import harness
from harness import pattern

MiB = 1 << 20
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def quote(s):
    return urllib.parse.quote(s, safe="-_.~")


class ExactTestCase(harness.DevTestCase):
    bucket = None  # a bucket the class's tests share, created first
    objects = {}   # key -> body, put into it

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.bucket:
            cls.s3.create_bucket(Bucket=cls.bucket)
        for key, body in cls.objects.items():
            cls.s3.put_object(Bucket=cls.bucket, Key=key, Body=body)

    def raw(self, method, path, query=(), headers=None, body=b"", chunks=None):
        """A SigV4-signed request (UNSIGNED-PAYLOAD) sent as given: `query` is a list of
        (name, value) pairs, percent-encoded here; `chunks` sends the body with
        Transfer-Encoding: chunked and no Content-Length; body=None sends neither.
        Returns (status, headers with lower-case names, body)."""
        target = quote(path).replace("%2F", "/")
        if query:
            target += "?" + "&".join(n + "=" + quote(v) for n, v in query)
        all_headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
        all_headers.update(headers or {})
        request = AWSRequest(method=method, url=self.dev.endpoint + target, headers=all_headers)
        SigV4Auth(Credentials(self.dev.env["AWS_ACCESS_KEY_ID"],
                              self.dev.env["AWS_SECRET_ACCESS_KEY"]),
                  "s3", "us-east-1").add_auth(request)
        host, port = self.dev.host_port
        conn = http.client.HTTPConnection(host, port, timeout=120)
        try:
            send = dict(request.headers.items())
            if body is None:  # neither Content-Length nor chunked framing
                conn.putrequest(method, target)
                for name, value in send.items():
                    conn.putheader(name, value)
                conn.endheaders()
            elif chunks is not None:
                conn.request(method, target, body=iter(chunks), headers=send,
                             encode_chunked=True)
            else:
                conn.request(method, target, body=body, headers=send)
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def xml(self, data):
        return ET.fromstring(data)

    def text(self, root, name):
        """The text of child `name` ("" when empty, None when absent); S3 error documents
        have no namespace, results do."""
        node = root.find(NS + name)
        if node is None:
            node = root.find(name)
        return None if node is None else (node.text or "")


class CompleteAgainTest(ExactTestCase):
    bucket = "again"

    def upload(self, key, body):
        up = self.s3.create_multipart_upload(Bucket="again", Key=key)["UploadId"]
        etag = self.s3.upload_part(Bucket="again", Key=key, UploadId=up, PartNumber=1,
                                   Body=body)["ETag"]
        return up, [{"PartNumber": 1, "ETag": etag}]

    def test_repeated_complete_answers_the_same_result(self):
        # An SDK that lost the first response retries: S3 answers 200 with the same result.
        up, parts = self.upload("k", b"the only part")
        first = self.s3.complete_multipart_upload(Bucket="again", Key="k", UploadId=up,
                                                  MultipartUpload={"Parts": parts})
        again = self.s3.complete_multipart_upload(Bucket="again", Key="k", UploadId=up,
                                                  MultipartUpload={"Parts": parts})
        self.assertEqual(again["ResponseMetadata"]["HTTPStatusCode"], 200)
        for field in ("ETag", "Bucket", "Key", "Location"):
            self.assertEqual(again[field], first[field], field)
        self.assertEqual(self.s3.get_object(Bucket="again", Key="k")["Body"].read(),
                         b"the only part")
        # Other parts than those completed, or another key: the upload does not exist.
        wrong = [{"PartNumber": 1, "ETag": '"%s"' % ("0" * 32)}]
        self.assertEqual(self.error_code(self.s3.complete_multipart_upload, Bucket="again",
                                         Key="k", UploadId=up,
                                         MultipartUpload={"Parts": wrong}),
                         ("NoSuchUpload", 404))
        self.assertEqual(self.error_code(self.s3.complete_multipart_upload, Bucket="again",
                                         Key="other", UploadId=up,
                                         MultipartUpload={"Parts": parts}),
                         ("NoSuchUpload", 404))

    def test_unknown_upload_is_no_such_upload(self):
        self.assertEqual(self.error_code(self.s3.complete_multipart_upload, Bucket="again",
                                         Key="k", UploadId="0" * 32,
                                         MultipartUpload={"Parts": [{"PartNumber": 1,
                                                                     "ETag": '"x"'}]}),
                         ("NoSuchUpload", 404))
        up, parts = self.upload("aborted", b"x")
        self.s3.abort_multipart_upload(Bucket="again", Key="aborted", UploadId=up)
        self.assertEqual(self.error_code(self.s3.complete_multipart_upload, Bucket="again",
                                         Key="aborted", UploadId=up,
                                         MultipartUpload={"Parts": parts}),
                         ("NoSuchUpload", 404))


class BucketTest(ExactTestCase):
    def test_create_owned_bucket_again_is_200(self):
        self.s3.create_bucket(Bucket="mine")
        r = self.s3.create_bucket(Bucket="mine")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.s3.head_bucket(Bucket="mine")

    def test_create_bucket_owned_by_another_key_is_409(self):
        self.s3.create_bucket(Bucket="theirs")
        other = self.dev.client(*self.dev.create_key("other-owner", [("theirs", "owner")]))
        self.assertEqual(self.error_code(other.create_bucket, Bucket="theirs"),
                         ("BucketAlreadyExists", 409))

    def test_list_buckets_prefix_and_pages(self):
        # ListBuckets' prefix, max-buckets and continuation-token (S3 API of 2024).
        for name in ("pg-a", "pg-b", "pg-c"):
            self.s3.create_bucket(Bucket=name)

        def page(*query):
            status, _, data = self.raw("GET", "/", [("prefix", "pg-"), *query])
            self.assertEqual(status, 200, data)
            root = self.xml(data)
            names = [self.text(b, "Name") for b in root.find(NS + "Buckets")]
            return names, root

        names, root = page(("max-buckets", "2"))
        self.assertEqual(names, ["pg-a", "pg-b"])
        self.assertEqual(self.text(root, "Prefix"), "pg-")
        token = self.text(root, "ContinuationToken")
        self.assertTrue(token)
        names, root = page(("max-buckets", "2"), ("continuation-token", token))
        self.assertEqual(names, ["pg-c"])
        self.assertIsNone(root.find(NS + "ContinuationToken"))
        self.assertEqual(page()[0], ["pg-a", "pg-b", "pg-c"])
        status, _, data = self.raw("GET", "/", [("max-buckets", "0")])
        self.assertEqual((status, self.text(self.xml(data), "Code")), (400, "InvalidArgument"))


class ListingTest(ExactTestCase):
    bucket = "lst"
    objects = {key: b"x" for key in ("a/1", "a/2", "b", "new\nline/x", "plus+sign", "sp ace+x")}

    def test_max_keys_zero_is_empty_and_not_truncated(self):
        for query in ([("max-keys", "0")], [("list-type", "2"), ("max-keys", "0")]):
            status, _, data = self.raw("GET", "/lst", query)
            self.assertEqual(status, 200, data)
            root = self.xml(data)
            self.assertEqual(self.text(root, "IsTruncated"), "false", query)
            self.assertEqual(self.text(root, "MaxKeys"), "0")
            self.assertEqual(root.findall(NS + "Contents"), [])
            self.assertIsNone(root.find(NS + "NextMarker"))
            self.assertIsNone(root.find(NS + "NextContinuationToken"))
        r = self.s3.list_objects_v2(Bucket="lst", MaxKeys=0)
        self.assertEqual(r["KeyCount"], 0)
        self.assertFalse(r["IsTruncated"])

    def test_empty_continuation_token_is_echoed(self):
        status, _, data = self.raw("GET", "/lst", [("list-type", "2"),
                                                   ("continuation-token", "")])
        self.assertEqual(status, 200, data)
        root = self.xml(data)
        self.assertEqual(self.text(root, "ContinuationToken"), "")
        self.assertEqual(len(root.findall(NS + "Contents")), 6)

    def test_prefix_delimiter_marker_echoed_as_sent(self):
        status, _, data = self.raw("GET", "/lst", [("prefix", "new\nline/"), ("delimiter", "\n"),
                                                   ("marker", "new\nline/")])
        self.assertEqual(status, 200, data)
        root = self.xml(data)
        self.assertEqual(self.text(root, "Prefix"), "new\nline/")
        self.assertEqual(self.text(root, "Delimiter"), "\n")
        self.assertEqual(self.text(root, "Marker"), "new\nline/")
        self.assertEqual([self.text(c, "Key") for c in root.findall(NS + "Contents")],
                         ["new\nline/x"])
        # With encoding-type=url the same values come back encoded.
        status, _, data = self.raw("GET", "/lst", [("prefix", "sp ace"), ("delimiter", "+"),
                                                   ("encoding-type", "url"), ("list-type", "2"),
                                                   ("start-after", "a b")])
        root = self.xml(data)
        self.assertEqual(self.text(root, "Prefix"), "sp%20ace")
        self.assertEqual(self.text(root, "Delimiter"), "%2B")
        self.assertEqual(self.text(root, "StartAfter"), "a%20b")
        self.assertEqual([self.text(c, "Prefix") for c in root.findall(NS + "CommonPrefixes")],
                         ["sp%20ace%2B"])

    def test_v1_next_marker_only_with_a_delimiter(self):
        # "NextMarker is returned only if you have the delimiter request parameter
        # specified" (ListObjects): without one the client pages from the last Key.
        status, _, data = self.raw("GET", "/lst", [("max-keys", "1")])
        root = self.xml(data)
        self.assertEqual(self.text(root, "IsTruncated"), "true")
        self.assertIsNone(root.find(NS + "NextMarker"))
        status, _, data = self.raw("GET", "/lst", [("max-keys", "1"), ("delimiter", "/")])
        root = self.xml(data)
        self.assertEqual(self.text(root, "NextMarker"), "a/")
        keys = [o["Key"] for o in self.s3.get_paginator("list_objects").paginate(
            Bucket="lst", PaginationConfig={"PageSize": 1}).search("Contents[]")]
        self.assertEqual(keys, ["a/1", "a/2", "b", "new\nline/x", "plus+sign", "sp ace+x"])


class ObjectTest(ExactTestCase):
    bucket = "obj"
    objects = {"plain": b"plain bytes"}

    def test_not_modified_carries_etag_and_last_modified(self):
        head = self.s3.head_object(Bucket="obj", Key="plain")
        for method in ("GET", "HEAD"):
            status, headers, _ = self.raw(method, "/obj/plain",
                                          headers={"If-None-Match": head["ETag"]})
            self.assertEqual(status, 304)
            self.assertEqual(headers.get("etag"), head["ETag"])
            self.assertEqual(headers.get("last-modified"),
                             head["ResponseMetadata"]["HTTPHeaders"]["last-modified"])

    def test_checksum_mismatch_is_bad_digest(self):
        wrong = base64.b64encode((binascii.crc32(b"other") & 0xFFFFFFFF).to_bytes(4, "big"))
        status, _, data = self.raw("PUT", "/obj/crc", headers={
            "x-amz-checksum-crc32": wrong.decode()}, body=b"the body")
        self.assertEqual(status, 400, data)
        self.assertEqual(self.text(self.xml(data), "Code"), "BadDigest")
        status, _, data = self.raw("PUT", "/obj/sha", headers={
            "x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(b"x").digest()).decode()},
            body=b"the body")
        self.assertEqual((status, self.text(self.xml(data), "Code")), (400, "BadDigest"))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="obj", Key="crc")[1], 404)

    def test_empty_content_md5_is_invalid_digest(self):
        status, _, data = self.raw("PUT", "/obj/md5", headers={"Content-MD5": ""}, body=b"x")
        self.assertEqual((status, self.text(self.xml(data), "Code")), (400, "InvalidDigest"))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="obj", Key="md5")[1], 404)

    def test_part_number_past_the_parts(self):
        # AWS's error table and API model: InvalidPartNumber, "The requested partnumber is
        # not satisfiable", 416.
        self.assertEqual(self.error_code(self.s3.get_object, Bucket="obj", Key="plain",
                                         PartNumber=2), ("InvalidPartNumber", 416))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="obj", Key="plain",
                                         PartNumber=3)[1], 416)
        self.assertEqual(self.s3.get_object(Bucket="obj", Key="plain", PartNumber=1)["Body"]
                         .read(), b"plain bytes")
        up = self.s3.create_multipart_upload(Bucket="obj", Key="mp")
        etag = self.s3.upload_part(Bucket="obj", Key="mp", UploadId=up["UploadId"],
                                   PartNumber=1, Body=b"one part")["ETag"]
        self.s3.complete_multipart_upload(
            Bucket="obj", Key="mp", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        self.assertEqual(self.error_code(self.s3.get_object, Bucket="obj", Key="mp",
                                         PartNumber=2), ("InvalidPartNumber", 416))

    def test_aws_chunked_is_not_stored_as_content_encoding(self):
        for sent, stored in (("gzip, aws-chunked", "gzip"), ("aws-chunked", None),
                             ("aws-chunked,br", "br")):
            status, _, data = self.raw("PUT", "/obj/enc", headers={"Content-Encoding": sent},
                                       body=b"abc")
            self.assertEqual(status, 200, data)
            head = self.s3.head_object(Bucket="obj", Key="enc")
            self.assertEqual(head.get("ContentEncoding"), stored, sent)

    def test_chunked_put_without_content_length(self):
        body = pattern(3 * MiB + 123, 4)
        pieces = [body[i:i + 100000] for i in range(0, len(body), 100000)]
        status, headers, data = self.raw("PUT", "/obj/chunked", chunks=pieces)
        self.assertEqual(status, 200, data)
        self.assertEqual(headers["etag"], '"%s"' % hashlib.md5(body).hexdigest())
        got = self.s3.get_object(Bucket="obj", Key="chunked")
        self.assertEqual(got["ContentLength"], len(body))
        self.assertEqual(got["Body"].read(), body)

    def test_put_without_any_length_is_missing_content_length(self):
        status, _, data = self.raw("PUT", "/obj/nolength", body=None)
        self.assertEqual((status, self.text(self.xml(data), "Code")),
                         (411, "MissingContentLength"))

    def test_put_if_none_match_etag_list(self):
        etag = self.s3.put_object(Bucket="obj", Key="cond", Body=b"v1")["ETag"]
        status, _, data = self.raw("PUT", "/obj/cond", headers={
            "If-None-Match": '"0000", %s' % etag}, body=b"v2")
        self.assertEqual((status, self.text(self.xml(data), "Code")), (412, "PreconditionFailed"))
        status, _, data = self.raw("PUT", "/obj/cond", headers={
            "If-None-Match": '"0000", "1111"'}, body=b"v3")
        self.assertEqual(status, 200, data)
        self.assertEqual(self.s3.get_object(Bucket="obj", Key="cond")["Body"].read(), b"v3")
        status, _, _ = self.raw("PUT", "/obj/new-cond", headers={"If-None-Match": '"0000"'},
                                body=b"n")
        self.assertEqual(status, 200)


class EncryptionTest(ExactTestCase):
    bucket = "sse"

    def test_aes256_is_honoured_and_echoed(self):
        r = self.s3.put_object(Bucket="sse", Key="k", Body=b"secret", ServerSideEncryption="AES256")
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        self.assertEqual(self.s3.head_object(Bucket="sse", Key="k")["ServerSideEncryption"],
                         "AES256")
        self.assertEqual(self.s3.get_object(Bucket="sse", Key="k")["ServerSideEncryption"],
                         "AES256")
        r = self.s3.copy_object(Bucket="sse", Key="copy", CopySource="sse/k",
                                ServerSideEncryption="AES256")
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        # Asking for encryption is a change of attributes: a copy onto itself is allowed.
        r = self.s3.copy_object(Bucket="sse", Key="k", CopySource="sse/k",
                                ServerSideEncryption="AES256")
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        up = self.s3.create_multipart_upload(Bucket="sse", Key="mp", ServerSideEncryption="AES256")
        self.assertEqual(up["ServerSideEncryption"], "AES256")
        part = self.s3.upload_part(Bucket="sse", Key="mp", UploadId=up["UploadId"], PartNumber=1,
                                   Body=b"part")
        self.assertEqual(part["ServerSideEncryption"], "AES256")
        done = self.s3.complete_multipart_upload(
            Bucket="sse", Key="mp", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertEqual(done["ServerSideEncryption"], "AES256")

    def test_kms_and_customer_keys_are_not_implemented(self):
        for kwargs in ({"ServerSideEncryption": "aws:kms"},
                       {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/x"},
                       {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32}):
            self.assertEqual(self.error_code(self.s3.put_object, Bucket="sse", Key="kms",
                                             Body=b"x", **kwargs), ("NotImplemented", 501))
            self.assertEqual(self.error_code(self.s3.create_multipart_upload, Bucket="sse",
                                             Key="kms", **kwargs), ("NotImplemented", 501))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="sse", Key="kms")[1], 404)
        status, _, data = self.raw("PUT", "/sse/kms", headers={
            "x-amz-server-side-encryption": "aws:kms"}, body=b"x")
        self.assertIn(b"aws:kms", data)
        status, _, data = self.raw("PUT", "/sse/bad", headers={
            "x-amz-server-side-encryption": "DES"}, body=b"x")
        self.assertEqual((status, self.text(self.xml(data), "Code")), (400, "InvalidArgument"))


class MoreTest(ExactTestCase):
    """Others of the same kind, from S3's documentation of the operations Mosaic has."""

    bucket = "more"
    objects = {"k": b"value"}

    def test_unknown_storage_class_is_invalid_storage_class(self):
        self.s3.put_object(Bucket="more", Key="std", Body=b"x", StorageClass="STANDARD")
        for path, query in (("/more/sc", ()), ("/more/sc", [("uploads", "")])):
            status, _, data = self.raw("POST" if query else "PUT", path, query,
                                       headers={"x-amz-storage-class": "FAST_AND_CHEAP"},
                                       body=b"" if query else b"x")
            self.assertEqual((status, self.text(self.xml(data), "Code")),
                             (400, "InvalidStorageClass"), path)
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="more", Key="sc")[1], 404)

    def test_bad_location_constraint_is_invalid_location_constraint(self):
        body = (b"<CreateBucketConfiguration><LocationConstraint>no_such region"
                b"</LocationConstraint></CreateBucketConfiguration>")
        status, _, data = self.raw("PUT", "/badloc", body=body)
        self.assertEqual((status, self.text(self.xml(data), "Code")),
                         (400, "InvalidLocationConstraint"))
        self.assertEqual(self.error_code(self.s3.head_bucket, Bucket="badloc")[1], 404)

    def test_version_id_other_than_null(self):
        self.assertEqual(self.s3.get_object(Bucket="more", Key="k", VersionId="null")["Body"]
                         .read(), b"value")
        version = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
        for call in (self.s3.get_object, self.s3.delete_object):
            self.assertEqual(self.error_code(call, Bucket="more", Key="k", VersionId=version),
                             ("InvalidArgument", 400), call.__name__)
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="more", Key="k",
                                         VersionId=version)[1], 400)
        self.assertEqual(self.s3.get_object(Bucket="more", Key="k")["Body"].read(), b"value")

    def test_upload_part_with_empty_content_md5_is_invalid_digest(self):
        up = self.s3.create_multipart_upload(Bucket="more", Key="mp")["UploadId"]
        status, _, data = self.raw("PUT", "/more/mp", [("partNumber", "1"), ("uploadId", up)],
                                   headers={"Content-MD5": ""}, body=b"part")
        self.assertEqual((status, self.text(self.xml(data), "Code")), (400, "InvalidDigest"))
        self.assertEqual(self.s3.list_parts(Bucket="more", Key="mp", UploadId=up)
                         .get("Parts", []), [])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:], verbosity=2)
