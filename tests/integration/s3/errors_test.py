"""Errors, rights and hostile input against `mosaic dev` (issue 5): bad credentials,
missing rights, BadDigest, NotImplemented, malformed HTTP over a raw socket, and a client
that disappears mid-upload."""

import base64
import hashlib
import socket
import sys
import unittest
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import harness
from harness import pattern, recv_all

MiB = 1 << 20


class ErrorsTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="err")
        cls.s3.create_bucket(Bucket="other")
        cls.s3.put_object(Bucket="err", Key="there", Body=b"present")

    def test_wrong_secret(self):
        bad = self.dev.client(secret="x" * 40)
        self.assertEqual(self.error_code(bad.list_objects_v2, Bucket="err"),
                         ("SignatureDoesNotMatch", 403))
        self.assertEqual(self.error_code(bad.put_object, Bucket="err", Key="w", Body=b"1"),
                         ("SignatureDoesNotMatch", 403))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="err", Key="w")[1], 404)

    def test_unknown_access_key(self):
        bad = self.dev.client(key_id="AKIDOESNOTEXIST00000", secret="x" * 40)
        self.assertEqual(self.error_code(bad.get_object, Bucket="err", Key="there"),
                         ("InvalidAccessKeyId", 403))

    def test_key_rights(self):
        reader_id, reader_secret = self.dev.create_key("reader", [("other", "read")])
        reader = self.dev.client(reader_id, reader_secret)
        self.assertEqual(self.error_code(reader.get_object, Bucket="err", Key="there"),
                         ("AccessDenied", 403))
        self.assertEqual(self.error_code(reader.put_object, Bucket="other", Key="k", Body=b""),
                         ("AccessDenied", 403))
        self.assertEqual(self.error_code(reader.delete_bucket, Bucket="other"),
                         ("AccessDenied", 403))
        self.s3.put_object(Bucket="other", Key="readable", Body=b"ok")
        self.assertEqual(reader.get_object(Bucket="other", Key="readable")["Body"].read(), b"ok")
        writer_id, writer_secret = self.dev.create_key("writer", [("other", "write")])
        writer = self.dev.client(writer_id, writer_secret)
        writer.put_object(Bucket="other", Key="written", Body=b"w")
        self.assertEqual(self.error_code(writer.put_object, Bucket="err", Key="k", Body=b""),
                         ("AccessDenied", 403))
        # A deleted key stops working at once.
        import subprocess
        subprocess.run([harness.BINARY, "key", "delete", reader_id, "--config",
                        self.dev.gateway["config"]], check=True, capture_output=True, timeout=30)
        self.assertEqual(self.error_code(reader.get_object, Bucket="other", Key="readable"),
                         ("InvalidAccessKeyId", 403))

    def test_bad_content_md5_stores_nothing(self):
        wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
        self.assertEqual(self.error_code(self.s3.put_object, Bucket="err", Key="md5",
                                         Body=pattern(5 * MiB, 1), ContentMD5=wrong),
                         ("BadDigest", 400))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="err", Key="md5")[1], 404)
        # An existing object is left as it was.
        self.assertEqual(self.error_code(self.s3.put_object, Bucket="err", Key="there",
                                         Body=b"replacement", ContentMD5=wrong)[0], "BadDigest")
        self.assertEqual(self.s3.get_object(Bucket="err", Key="there")["Body"].read(),
                         b"present")
        self.assertEqual(self.error_code(self.s3.put_object, Bucket="err", Key="md5",
                                         Body=b"x", ContentMD5="not base64!")[0],
                         "InvalidDigest")

    def test_unimplemented_operations(self):
        # ACLs are read and set as on an ACL-disabled S3 bucket (s3doc_test.AclTest).
        for call, kwargs in ((self.s3.get_bucket_website, {"Bucket": "err"}),
                             (self.s3.get_object_torrent, {"Bucket": "err", "Key": "there"}),
                             (self.s3.get_bucket_cors, {"Bucket": "err"}),
                             (self.s3.get_bucket_policy, {"Bucket": "err"})):
            self.assertEqual(self.error_code(call, **kwargs), ("NotImplemented", 501),
                             call.__name__)

    def test_early_error_does_not_spoil_the_next_request(self):
        # botocore sends "Expect: 100-continue" with every PutObject; answered at once with an
        # error, it must not take that status for the next PUT's on the same connection.
        s3 = self.dev.client()
        for _ in range(2):
            self.assertEqual(self.error_code(s3.put_object, Bucket="err", Key="k" * 1025,
                                             Body=b"")[0], "KeyTooLongError")
            r = s3.put_object(Bucket="err", Key="after-error", Body=b"fine")
            self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(b"fine").hexdigest())

    def test_every_response_has_a_request_id(self):
        r = self.s3.head_bucket(Bucket="err")
        self.assertTrue(r["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-id"))
        from botocore.exceptions import ClientError
        try:
            self.s3.get_object(Bucket="err", Key="missing")
        except ClientError as e:
            self.assertTrue(e.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"])
            self.assertEqual(e.response["Error"]["Code"], "NoSuchKey")


def signed_headers(dev, method, path, extra=None):
    """SigV4 headers (UNSIGNED-PAYLOAD) for a raw request."""
    headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    headers.update(extra or {})
    request = AWSRequest(method=method, url=dev.endpoint + path, headers=headers)
    SigV4Auth(Credentials(dev.env["AWS_ACCESS_KEY_ID"], dev.env["AWS_SECRET_ACCESS_KEY"]),
              "s3", "us-east-1").add_auth(request)
    host = "%s:%d" % dev.host_port
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + host]
    lines += ["%s: %s" % (k, v) for k, v in request.headers.items() if k.lower() != "host"]
    return ("\r\n".join(lines) + "\r\n").encode()


class HostileInputTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="hostile")

    def exchange(self, raw, read=True):
        with socket.create_connection(self.dev.host_port, timeout=30) as s:
            try:
                s.sendall(raw)
            except (BrokenPipeError, ConnectionResetError):
                return b""
            return recv_all(s) if read else b""

    def assert_rejected(self, raw):
        reply = self.exchange(raw)
        if reply:  # a close without a reply is acceptable too
            status = int(reply.split(b" ", 2)[1])
            self.assertTrue(400 <= status < 500, reply[:200])
        self.assertTrue(self.dev.alive(), "the gateway stopped answering")

    def test_garbage_request_line(self):
        self.assert_rejected(b"\x00\xff garbage \r\n\r\n")
        self.assert_rejected(b"GET\r\n\r\n")
        self.assert_rejected(b"GET / HTTP/9.9\r\nHost: x\r\n\r\n")
        self.assert_rejected(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")

    def test_huge_header(self):
        self.assert_rejected(b"GET /hostile HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 65536 +
                             b"\r\n\r\n")
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
        self.assert_rejected(b"GET /hostile HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")

    def test_bad_content_length(self):
        self.assert_rejected(b"PUT /hostile/k HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        self.assert_rejected(b"PUT /hostile/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                             b"Content-Length: 2\r\n\r\nab")
        self.assert_rejected(b"PUT /hostile/k HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Length: 99999999999999999999999\r\n\r\n")

    def test_bad_chunk_framing(self):
        head = signed_headers(self.dev, "PUT", "/hostile/chunky",
                              {"Transfer-Encoding": "chunked"})
        self.assert_rejected(head + b"\r\nzz\r\nhello\r\n0\r\n\r\n")
        head = signed_headers(self.dev, "PUT", "/hostile/aws-chunked",
                              {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                               "Content-Encoding": "aws-chunked",
                               "x-amz-decoded-content-length": "5",
                               "x-amz-trailer": "x-amz-checksum-crc32",
                               "Content-Length": "40"})
        # UNSIGNED-PAYLOAD was replaced: the signature covers the streaming mode.
        self.assert_rejected(head + b"\r\nfffffffffffffffff\r\nhello\r\n0\r\n\r\n".ljust(40))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="hostile",
                                         Key="aws-chunked")[1], 404)

    def test_pipelined_requests_after_an_error(self):
        bad = b"GET /hostile HTTP/1.1\r\nHost: x\r\n\r\n"
        reply = self.exchange(bad * 3)
        self.assertEqual(reply.count(b"HTTP/1.1 403"), 3, reply[:300])

    def used_bytes(self):
        total = 0
        for node in self.dev.processes("node"):
            with urllib.request.urlopen("http://%s/metrics" % node["metrics"], timeout=10) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("mosaic_node_used_bytes"):
                        total += float(line.split()[-1])
        return total

    def test_client_killed_mid_upload_leaves_nothing(self):
        declared = 24 * MiB
        before = self.used_bytes()
        head = signed_headers(self.dev, "PUT", "/hostile/half",
                              {"Content-Length": str(declared)})
        with socket.create_connection(self.dev.host_port, timeout=30) as s:
            s.sendall(head + b"\r\n")
            body = pattern(declared // 2, 3)
            s.sendall(body)
            # Shards of the first stripes reach the nodes before the client disappears.
            harness.poll(lambda: self.used_bytes() > before, 30, what="shards on the nodes")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="hostile", Key="half")[1],
                         404)
        harness.poll(lambda: self.dev.metrics().get("mosaic_gateway_deletion_backlog") == 0,
                     30, what="an empty deletion queue")
        harness.poll(lambda: self.used_bytes() <= before, 60, what="the shards deleted")
        listed = self.s3.list_objects_v2(Bucket="hostile").get("Contents", [])
        self.assertNotIn("half", [o["Key"] for o in listed])
        self.assertTrue(self.dev.alive())


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
