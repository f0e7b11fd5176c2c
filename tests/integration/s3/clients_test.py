"""Real clients from Debian against `mosaic dev` (issue 5): curl (presigned URLs and
--aws-sigv4), rclone, s3cmd, awscli, and boto3's checksum and aws-chunked upload modes."""

import base64
import binascii
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from boto3.s3.transfer import TransferConfig

import harness
from harness import pattern

MiB = 1 << 20


def run(cmd, env=None, timeout=300, check=True, **kwargs):
    r = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout, **kwargs)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (cmd[0], r.returncode,
                                                           r.stdout[-3000:], r.stderr[-3000:]))
    return r


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def curl(*args, data=None):
    """curl with --fail-less output: returns (HTTP status, body bytes)."""
    with tempfile.NamedTemporaryFile() as out:
        cmd = ["curl", "-sS", "--noproxy", "*", "-o", out.name, "-w", "%{http_code}"]
        r = run(cmd + list(args), input=data)
        return int(r.stdout.decode()), read_file(out.name)


class CurlTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="curl")
        cls.v4 = cls.dev.client(signature_version="s3v4")

    def test_presigned_get_and_put(self):
        body = pattern(300000, 9)
        put_url = self.v4.generate_presigned_url(
            "put_object", Params={"Bucket": "curl", "Key": "pre signed+é"}, ExpiresIn=600)
        with tempfile.NamedTemporaryFile() as f:
            f.write(body)
            f.flush()
            status, _ = curl("-X", "PUT", "-T", f.name, put_url)
        self.assertEqual(status, 200)
        get_url = self.v4.generate_presigned_url(
            "get_object", Params={"Bucket": "curl", "Key": "pre signed+é"}, ExpiresIn=600)
        status, got = curl(get_url)
        self.assertEqual(status, 200)
        self.assertEqual(got, body)
        status, got = curl("-H", "Range: bytes=5-9", get_url)
        self.assertEqual((status, got), (206, body[5:10]))

    def test_presigned_tampered_or_expired(self):
        self.s3.put_object(Bucket="curl", Key="exp", Body=b"soon gone")
        # Tampering is checked on a URL valid for long: on a loaded machine a 1-second URL may
        # have expired before curl runs, and expiry is checked first.
        lasting = self.v4.generate_presigned_url(
            "get_object", Params={"Bucket": "curl", "Key": "exp"}, ExpiresIn=600)
        status, body = curl(lasting.replace("/exp?", "/exq?"))
        self.assertEqual(status, 403)
        self.assertIn(b"SignatureDoesNotMatch", body)
        url = self.v4.generate_presigned_url("get_object", Params={"Bucket": "curl", "Key": "exp"},
                                             ExpiresIn=1)

        def expired():
            status, body = curl(url)
            self.assertIn(status, (200, 403))
            return body if status == 403 else None

        body = harness.poll(expired, timeout_s=10, interval_s=0.25, what="expiry")
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.assertIn(b"Request has expired", body)

    def test_curl_aws_sigv4(self):
        user = "%s:%s" % (self.dev.env["AWS_ACCESS_KEY_ID"], self.dev.env["AWS_SECRET_ACCESS_KEY"])
        sig = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", user]
        base = self.dev.endpoint + "/curl/"
        body = pattern(70000, 1)
        status, _ = curl(*sig, "-X", "PUT", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                         "--data-binary", "@-", base + "by-curl", data=body)
        self.assertEqual(status, 200)
        status, got = curl(*sig, base + "by-curl")
        self.assertEqual((status, got), (200, body))
        status, listing = curl(*sig, base + "?list-type=2&prefix=by-")
        self.assertEqual(status, 200)
        self.assertIn(b"<Key>by-curl</Key>", listing)
        status, _ = curl(*sig, "-X", "DELETE", base + "by-curl")
        self.assertEqual(status, 204)
        status, _ = curl(*sig, "-I", base + "by-curl")
        self.assertEqual(status, 404)


class ToolsTest(harness.DevTestCase):
    def test_rclone_copy_and_check_300_files(self):
        self.s3.create_bucket(Bucket="rclone")
        env = self.dev.tool_env()
        env.update({"RCLONE_CONFIG_MOSAIC_TYPE": "s3", "RCLONE_CONFIG_MOSAIC_PROVIDER": "Other",
                    "RCLONE_CONFIG_MOSAIC_ENDPOINT": self.dev.endpoint,
                    "RCLONE_CONFIG_MOSAIC_ACCESS_KEY_ID": self.dev.env["AWS_ACCESS_KEY_ID"],
                    "RCLONE_CONFIG_MOSAIC_SECRET_ACCESS_KEY":
                        self.dev.env["AWS_SECRET_ACCESS_KEY"],
                    "RCLONE_CONFIG_MOSAIC_REGION": "us-east-1", "RCLONE_CONFIG": "/dev/null"})
        with tempfile.TemporaryDirectory() as src, tempfile.TemporaryDirectory() as back:
            for i in range(300):
                sub = os.path.join(src, "d%d" % (i % 7), "e f" if i % 2 else "")
                os.makedirs(sub, exist_ok=True)
                with open(os.path.join(sub, "file %03d+ü.bin" % i), "wb") as f:
                    f.write(pattern(i * 37 + (MiB if i % 100 == 0 else 0), i))
            flags = ["--s3-upload-cutoff", "5G", "--transfers", "8", "--checkers", "8",
                     "--retries", "1", "--low-level-retries", "1"]
            run(["rclone", "copy", src, "mosaic:rclone/tree"] + flags, env=env)
            run(["rclone", "check", src, "mosaic:rclone/tree"] + flags, env=env)
            run(["rclone", "copy", "mosaic:rclone/tree", back] + flags, env=env)
            run(["rclone", "check", "--download", src, back], env=env)
        listed = self.s3.get_paginator("list_objects_v2").paginate(Bucket="rclone")
        self.assertEqual(sum(len(p.get("Contents", [])) for p in listed), 300)

    def test_s3cmd_put_get_ls_del(self):
        host = "%s:%d" % self.dev.host_port
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "s3cfg")
            with open(cfg, "w") as f:
                f.write("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\n"
                        "host_bucket = %s\nuse_https = False\nsignature_v2 = False\n"
                        "bucket_location = us-east-1\n"
                        % (self.dev.env["AWS_ACCESS_KEY_ID"],
                           self.dev.env["AWS_SECRET_ACCESS_KEY"], host, host))
            s3cmd = ["s3cmd", "-c", cfg, "--disable-multipart", "--no-progress"]
            env = self.dev.tool_env()
            src = os.path.join(tmp, "in.bin")
            body = pattern(3 * MiB + 5, 2)
            with open(src, "wb") as f:
                f.write(body)
            run(s3cmd + ["mb", "s3://s3cmd"], env=env)
            run(s3cmd + ["put", src, "s3://s3cmd/dir/in file.bin"], env=env)
            out = run(s3cmd + ["ls", "s3://s3cmd/dir/"], env=env).stdout.decode()
            self.assertIn("s3://s3cmd/dir/in file.bin", out)
            dst = os.path.join(tmp, "out.bin")
            run(s3cmd + ["get", "s3://s3cmd/dir/in file.bin", dst], env=env)
            self.assertEqual(read_file(dst), body)
            run(s3cmd + ["del", "s3://s3cmd/dir/in file.bin"], env=env)
            out = run(s3cmd + ["ls", "s3://s3cmd/dir/"], env=env).stdout.decode()
            self.assertNotIn("in file.bin", out)
            run(s3cmd + ["rb", "s3://s3cmd"], env=env)

    def test_awscli_from_debian(self):
        if not os.access("/usr/bin/aws", os.X_OK):
            self.skipTest("Debian's awscli is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "config")
            with open(cfg, "w") as f:
                f.write("[default]\ns3 =\n  multipart_threshold = 5GB\n")
            env = self.dev.tool_env()
            env.update({"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                        "AWS_PAGER": "", "HOME": tmp})
            aws = ["/usr/bin/aws", "--endpoint-url", self.dev.endpoint]
            src = os.path.join(tmp, "in.bin")
            body = pattern(20 * MiB + 3, 5)
            with open(src, "wb") as f:
                f.write(body)
            run(aws + ["s3", "mb", "s3://awscli"], env=env)
            run(aws + ["s3", "cp", src, "s3://awscli/x/in.bin"], env=env)
            run(aws + ["s3", "cp", "s3://awscli/x/in.bin", os.path.join(tmp, "out.bin")],
                env=env)
            self.assertEqual(read_file(os.path.join(tmp, "out.bin")), body)
            out = run(aws + ["s3", "ls", "s3://awscli/x/"], env=env).stdout.decode()
            self.assertIn("in.bin", out)
            run(aws + ["s3", "rm", "s3://awscli/x/in.bin"], env=env)
            run(aws + ["s3", "rb", "s3://awscli"], env=env)


class ChecksumTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="sums")

    def test_boto3_default_upload(self):
        # upload_fileobj is what applications call; Debian's botocore (1.29) sends a signed
        # payload here, newer ones a CRC32 (header or aws-chunked trailer).
        body = pattern(6 * MiB + 1, 8)
        import io
        self.s3.upload_fileobj(io.BytesIO(body), "sums", "default",
                               Config=TransferConfig(multipart_threshold=1 << 33))
        self.assertEqual(self.s3.get_object(Bucket="sums", Key="default")["Body"].read(), body)

    def test_boto3_explicit_checksums(self):
        for alg in ("CRC32", "CRC32C", "SHA1", "SHA256"):
            body = pattern(100000 + len(alg), 3)
            self.s3.put_object(Bucket="sums", Key="alg/" + alg, Body=body,
                               ChecksumAlgorithm=alg)
            got = self.s3.get_object(Bucket="sums", Key="alg/" + alg)["Body"].read()
            self.assertEqual(got, body, alg)

    def test_wrong_checksum_header_is_refused(self):
        bad = base64.b64encode(b"\0\0\0\0").decode()
        code, status = self.error_code(self.s3.put_object, Bucket="sums", Key="badcrc",
                                       Body=b"payload", ChecksumCRC32=bad)
        self.assertEqual(status, 400)
        self.assertIn(code, ("BadDigest", "InvalidRequest"))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="sums", Key="badcrc")[1],
                         404)

    def streaming_trailer_put(self, key, body, crc):
        """A STREAMING-UNSIGNED-PAYLOAD-TRAILER upload as newer SDKs send it."""
        chunk = 65536
        framed = b""
        for at in range(0, len(body), chunk):
            part = body[at:at + chunk]
            framed += b"%x\r\n%s\r\n" % (len(part), part)
        framed += b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % crc.encode()
        url = "%s/sums/%s" % (self.dev.endpoint, urllib.parse.quote(key))
        headers = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                   "Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
                   "x-amz-decoded-content-length": str(len(body)),
                   "Content-Length": str(len(framed))}
        request = AWSRequest(method="PUT", url=url, data=framed, headers=headers)
        creds = Credentials(self.dev.env["AWS_ACCESS_KEY_ID"],
                            self.dev.env["AWS_SECRET_ACCESS_KEY"])
        SigV4Auth(creds, "s3", "us-east-1").add_auth(request)
        req = urllib.request.Request(url, data=framed, method="PUT",
                                     headers=dict(request.headers.items()))
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def test_streaming_unsigned_payload_trailer(self):
        body = pattern(200001, 6)
        crc = base64.b64encode((binascii.crc32(body) & 0xFFFFFFFF).to_bytes(4, "big")).decode()
        status, _ = self.streaming_trailer_put("trailer", body, crc)
        self.assertEqual(status, 200)
        self.assertEqual(self.s3.get_object(Bucket="sums", Key="trailer")["Body"].read(), body)
        bad = base64.b64encode(b"\1\2\3\4").decode()
        status, err = self.streaming_trailer_put("trailer-bad", body, bad)
        self.assertEqual(status, 400, err)
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="sums",
                                         Key="trailer-bad")[1], 404)

    def test_md5_etag(self):
        body = b"etag check"
        r = self.s3.put_object(Bucket="sums", Key="etag", Body=body)
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
