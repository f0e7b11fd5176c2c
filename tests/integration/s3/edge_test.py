"""The gateway's edge against outsiders and weak keys (issue 18 findings 1, 6-9 and "Also"),
against `mosaic dev` with real clients: a presigned URL's response-* override carrying CR/LF,
a captured header-signed PUT replayed with added x-amz-* headers, a body sent without
x-amz-content-sha256, control characters in keys, XML bodies huge in elements or depth, the
dev gateway's folder and config modes, `mosaic key create` without a grant; and (finding 2)
signed clients served while 1,000 connections keep a request head half sent."""

import base64
import hashlib
import http.client
import os
import resource
import socket
import stat
import subprocess
import unittest
import urllib.error
import urllib.request

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import harness


def signed(dev, method, path, body=b"", headers=None):
    """Headers of a header-auth SigV4 request as botocore signs it (payload hash included)."""
    request = AWSRequest(method=method, url=dev.endpoint + path, data=body,
                         headers=dict(headers or {}))
    S3SigV4Auth(Credentials(dev.env["AWS_ACCESS_KEY_ID"], dev.env["AWS_SECRET_ACCESS_KEY"]),
                "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def send(dev, method, path, headers, body=b""):
    """Sends one request as given; returns (status, headers as a list, body)."""
    conn = http.client.HTTPConnection(*dev.host_port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


class EdgeTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="edge")
        cls.s3.put_object(Bucket="edge", Key="secret", Body=b"not for the replayer")
        cls.s3.put_object(Bucket="edge", Key="page", Body=b"<p>hello</p>")

    def test_presigned_response_override_cannot_split_the_response(self):
        reader = self.dev.client(*self.dev.create_key("edge-reader", [("edge", "read")]),
                                 signature_version="s3v4")  # presigned SigV4, not SigV2
        url = reader.generate_presigned_url(
            "get_object", ExpiresIn=600,
            Params={"Bucket": "edge", "Key": "page",
                    "ResponseContentType": "text/html\r\nSet-Cookie: session=stolen\r\n\r\n<h1>"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(url, timeout=60)
        self.assertEqual(cm.exception.code, 400)
        self.assertIsNone(cm.exception.headers.get("Set-Cookie"))
        self.assertIn(b"<Code>InvalidArgument</Code>", cm.exception.read())
        fine = reader.generate_presigned_url(
            "get_object", ExpiresIn=600,
            Params={"Bucket": "edge", "Key": "page", "ResponseContentType": "text/plain"})
        with urllib.request.urlopen(fine, timeout=60) as r:
            self.assertEqual(r.headers["Content-Type"], "text/plain")
            self.assertEqual(r.read(), b"<p>hello</p>")

    def test_replay_with_an_added_unsigned_amz_header_is_refused(self):
        body = b"captured body"
        headers = signed(self.dev, "PUT", "/edge/captured", body)
        status, _, reply = send(self.dev, "PUT", "/edge/captured", headers, body)
        self.assertEqual(status, 200, reply)
        for name, value in (("x-amz-copy-source", "edge/secret"),
                            ("x-amz-meta-added", "by the replayer"),
                            ("x-amz-tagging", "owner=replayer"),
                            ("x-amz-metadata-directive", "REPLACE")):
            status, _, reply = send(self.dev, "PUT", "/edge/captured",
                                    dict(headers, **{name: value}), body)
            self.assertEqual(status, 403, name)
            self.assertIn(b"<Code>AccessDenied</Code>", reply)
            self.assertIn(name.encode(), reply)
        got = self.s3.get_object(Bucket="edge", Key="captured")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["Metadata"], {})

    def test_a_body_without_x_amz_content_sha256_is_refused(self):
        user = "%s:%s" % (self.dev.env["AWS_ACCESS_KEY_ID"], self.dev.env["AWS_SECRET_ACCESS_KEY"])
        url = self.dev.endpoint + "/edge/by-curl"
        base = ["curl", "-sS", "--noproxy", "*", "--aws-sigv4", "aws:amz:us-east-1:s3",
                "--user", user, "-X", "PUT", "--data-binary", "@-", "-w", "\n%{http_code}"]

        def put(*extra):
            out = subprocess.run(base + list(extra) + [url], input=b"curl body",
                                 capture_output=True, timeout=60, check=True).stdout
            text, _, status = out.rpartition(b"\n")
            return int(status), text

        status, text = put()
        self.assertEqual(status, 400, text)
        self.assertIn(b"<Code>InvalidRequest</Code>", text)
        self.assertIn(b"Missing required header for this request: x-amz-content-sha256", text)
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="edge", Key="by-curl")[1], 404)
        status, text = put("-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD")
        self.assertEqual(status, 200, text)
        sha = hashlib.sha256(b"curl body").hexdigest()
        status, text = put("-H", "x-amz-content-sha256: " + sha)
        self.assertEqual(status, 200, text)

    def test_keys_with_control_characters_are_refused_at_put_and_get(self):
        for key in ("nul\x00inside", "bell\x07", "esc\x1b[31m", "unit\x1fsep"):
            self.assertEqual(self.error_code(self.s3.put_object, Bucket="edge", Key=key,
                                             Body=b"x"), ("InvalidArgument", 400), repr(key))
            self.assertEqual(self.error_code(self.s3.get_object, Bucket="edge", Key=key),
                             ("InvalidArgument", 400), repr(key))
        self.s3.put_object(Bucket="edge", Key="tab\tand\nnewline", Body=b"legal in XML")
        keys = [o["Key"] for o in
                self.s3.list_objects_v2(Bucket="edge", Prefix="tab")["Contents"]]
        self.assertEqual(keys, ["tab\tand\nnewline"])

    def xml_post(self, path, body):
        headers = signed(self.dev, "POST", path, body, {
            "Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()})
        return send(self.dev, "POST", path, headers, body)

    def test_xml_bodies_are_bounded_in_elements_and_depth(self):
        flat = b"<Delete>" + b"<Object/>" * 150000 + b"</Delete>"
        status, _, reply = self.xml_post("/edge?delete", flat)
        self.assertEqual(status, 400, reply[:300])
        self.assertIn(b"<Code>MalformedXML</Code>", reply)
        self.assertIn(b"elements", reply)
        deep = b"<Delete>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</Delete>"
        status, _, reply = self.xml_post("/edge?delete", deep)
        self.assertEqual(status, 400, reply[:300])
        self.assertIn(b"<Code>MalformedXML</Code>", reply)
        self.assertIn(b"deeper than", reply)
        upload = self.s3.create_multipart_upload(Bucket="edge", Key="mp")["UploadId"]
        deep = (b"<CompleteMultipartUpload>" + b"<Part>" * 3000 + b"</Part>" * 3000 +
                b"</CompleteMultipartUpload>")
        status, _, reply = self.xml_post("/edge/mp?uploadId=" + upload, deep)
        self.assertEqual(status, 400, reply[:300])
        self.assertIn(b"deeper than", reply)
        self.assertEqual(self.s3.head_object(Bucket="edge", Key="secret")["ContentLength"], 20)

    def test_dev_gateway_folder_and_config_are_private(self):
        gateway_dir = self.dev.gateway["dir"]
        self.assertEqual(stat.S_IMODE(os.stat(gateway_dir).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.dev.gateway["config"]).st_mode), 0o600)

    def test_key_create_needs_an_explicit_grant(self):
        config = self.dev.gateway["config"]
        r = subprocess.run([harness.BINARY, "key", "create", "lazy", "--config", config],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--bucket", r.stderr)
        self.assertNotIn("lazy", self.dev.mosaic("key", "list").stdout)
        r = subprocess.run([harness.BINARY, "key", "create", "everything", "--bucket", "*",
                            "--allow", "owner", "--config", config],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("key everything may: *:owner", r.stderr)
        self.assertIn('"secret"', r.stdout)


class SlowlorisTest(harness.DevTestCase):
    """Finding 2 of issue 18: 300 connections sending half a request head made the gateway
    answer 503 to everyone. Here 1,000 are kept open (any the gateway closes at its head
    timeout are opened again) from ten loopback addresses, while boto3 keeps working."""

    HALF_HEAD = b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Never-Ending: "
    SOCKETS = 1000
    SOURCES = ["127.0.0.%d" % i for i in range(2, 12)]  # 100 each: under the per-address cap

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        super().setUpClass()
        cls.s3.create_bucket(Bucket="slow")

    def open_slow(self, i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(10)
        s.bind((self.SOURCES[i % len(self.SOURCES)], 0))
        s.connect(self.dev.host_port)
        s.sendall(self.HALF_HEAD)
        s.setblocking(False)
        return s

    def closed(self, s):
        """True when the gateway closed s; a 503 refusing it is counted in self.refused."""
        try:
            data = s.recv(4096)
        except BlockingIOError:
            return False
        except OSError:
            return True
        if data.startswith(b"HTTP/1.1 503"):
            self.refused += 1
        return True

    def test_signed_clients_are_served_while_1000_heads_hang(self):
        self.refused = 0
        slow = [self.open_slow(i) for i in range(self.SOCKETS)]
        self.assertEqual(sum(1 for s in slow if self.closed(s)), 0)
        stop_reopening = harness.start_reopener(slow, self.open_slow, self.closed)
        try:
            # A new client each time (an old keep-alive connection held its thread even
            # before the fix).
            served = harness.round_trips(self.dev.client, "slow", "k")
            self.assertGreaterEqual(served, 5)
            self.assertEqual(self.refused, 0, "half-open connections were refused with 503")
        finally:
            stop_reopening()
            for s in slow:
                s.close()


if __name__ == "__main__":
    unittest.main()
