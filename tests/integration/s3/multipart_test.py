"""Multipart uploads against `mosaic dev` (issue 6): boto3's transfer manager, every
multipart operation by hand (boto3 and awscli's s3api), the errors S3 gives for bad
completions, a gateway restart in the middle of an upload, and two of six nodes killed
during a large upload."""

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

from boto3.s3.transfer import TransferConfig

import harness
from harness import pattern

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30


def multipart_etag(bodies):
    digests = b"".join(hashlib.md5(b).digest() for b in bodies)
    return '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(bodies))


def file_md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(8 * MiB), b""):
            h.update(block)
    return h.hexdigest()


def write_pattern_file(path, size, seed):
    """Writes `size` pattern bytes to `path` in blocks; returns their MD5."""
    h = hashlib.md5()
    block = pattern(16 * MiB, seed)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            chunk = block[:min(left, len(block))]
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def run(cmd, env=None, timeout=600):
    r = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(cmd[:4]), r.returncode,
                                                           r.stdout[-3000:], r.stderr[-3000:]))
    return r.stdout


class MultipartTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="mpu")

    def upload_parts(self, key, bodies, **create):
        s3 = self.s3
        upload_id = s3.create_multipart_upload(Bucket="mpu", Key=key, **create)["UploadId"]
        parts = []
        for i, body in enumerate(bodies, 1):
            r = s3.upload_part(Bucket="mpu", Key=key, UploadId=upload_id, PartNumber=i, Body=body)
            parts.append({"PartNumber": i, "ETag": r["ETag"]})
        return upload_id, parts

    def complete(self, key, upload_id, parts, client=None):
        return (client or self.s3).complete_multipart_upload(
            Bucket="mpu", Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})

    def test_transfer_manager_round_trip(self):
        config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB,
                                max_concurrency=4)
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = os.path.join(tmp, "in"), os.path.join(tmp, "out")
            digest = write_pattern_file(src, 50 * MiB + 123, 1)
            self.s3.upload_file(src, "mpu", "big/file", Config=config)
            head = self.s3.head_object(Bucket="mpu", Key="big/file")
            self.assertEqual(head["ContentLength"], 50 * MiB + 123)
            self.assertTrue(head["ETag"].endswith('-7"'), head["ETag"])
            self.s3.download_file("mpu", "big/file", dst, Config=config)
            self.assertEqual(file_md5(dst), digest)
        ranged = self.s3.get_object(Bucket="mpu", Key="big/file",
                                    Range="bytes=%d-%d" % (8 * MiB - 5, 8 * MiB + 4))
        self.assertEqual(ranged["Body"].read(), pattern(16 * MiB, 1)[8 * MiB - 5:8 * MiB + 5])

    def test_by_hand_with_listings(self):
        s3 = self.s3
        bodies = [pattern(5 * MiB, 2), pattern(5 * MiB + 7, 3), b"tail bytes"]
        upload_id, parts = self.upload_parts(
            "hand/one", bodies, ContentType="text/x-test", Metadata={"colour": "blue"})
        self.assertGreaterEqual(len(upload_id), 32)
        listed = s3.list_parts(Bucket="mpu", Key="hand/one", UploadId=upload_id)
        self.assertEqual([p["PartNumber"] for p in listed["Parts"]], [1, 2, 3])
        self.assertEqual([p["Size"] for p in listed["Parts"]], [len(b) for b in bodies])
        self.assertEqual([p["ETag"] for p in listed["Parts"]],
                         ['"%s"' % hashlib.md5(b).hexdigest() for b in bodies])
        self.assertFalse(listed["IsTruncated"])
        self.assertEqual(listed["StorageClass"], "STANDARD")
        page = s3.list_parts(Bucket="mpu", Key="hand/one", UploadId=upload_id, MaxParts=2)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual(page["NextPartNumberMarker"], 2)
        page = s3.list_parts(Bucket="mpu", Key="hand/one", UploadId=upload_id,
                             PartNumberMarker=2)
        self.assertEqual([p["PartNumber"] for p in page["Parts"]], [3])
        uploads = s3.list_multipart_uploads(Bucket="mpu", Prefix="hand/")["Uploads"]
        self.assertIn(("hand/one", upload_id), [(u["Key"], u["UploadId"]) for u in uploads])

        r = self.complete("hand/one", upload_id, parts)
        self.assertEqual(r["ETag"], multipart_etag(bodies))
        self.assertEqual(r["Key"], "hand/one")
        got = s3.get_object(Bucket="mpu", Key="hand/one")
        self.assertEqual(got["Body"].read(), b"".join(bodies))
        self.assertEqual(got["ContentType"], "text/x-test")
        self.assertEqual(got["Metadata"], {"colour": "blue"})
        self.assertEqual(got["ETag"], multipart_etag(bodies))
        uploads = s3.list_multipart_uploads(Bucket="mpu", Prefix="hand/").get("Uploads", [])
        self.assertNotIn(upload_id, [u["UploadId"] for u in uploads])
        self.assertEqual(self.error_code(s3.list_parts, Bucket="mpu", Key="hand/one",
                                         UploadId=upload_id)[0], "NoSuchUpload")

    def test_replaced_part_and_subset_of_parts(self):
        s3 = self.s3
        bodies = [pattern(5 * MiB, 4), pattern(5 * MiB, 5), b"three"]
        upload_id, parts = self.upload_parts("hand/two", bodies)
        newer = pattern(5 * MiB, 6)
        r = s3.upload_part(Bucket="mpu", Key="hand/two", UploadId=upload_id, PartNumber=1,
                           Body=newer)
        # Parts 1 (the newer one) and 3 only: a subset is allowed, gaps too.
        self.complete("hand/two", upload_id,
                      [{"PartNumber": 1, "ETag": r["ETag"]}, parts[2]])
        got = s3.get_object(Bucket="mpu", Key="hand/two")["Body"].read()
        self.assertEqual(got, newer + b"three")

    def test_list_uploads_prefix_delimiter_and_pages(self):
        s3 = self.s3
        ids = {}
        for key in ("lst/a/1", "lst/a/2", "lst/b", "lst/c", "lst/c"):
            ids.setdefault(key, []).append(
                s3.create_multipart_upload(Bucket="mpu", Key=key)["UploadId"])
        r = s3.list_multipart_uploads(Bucket="mpu", Prefix="lst/", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["lst/a/"])
        self.assertEqual([u["Key"] for u in r["Uploads"]], ["lst/b", "lst/c", "lst/c"])
        self.assertEqual(sorted(u["UploadId"] for u in r["Uploads"] if u["Key"] == "lst/c"),
                         sorted(ids["lst/c"]))
        seen, kwargs = [], {}
        for _ in range(10):
            page = s3.list_multipart_uploads(Bucket="mpu", Prefix="lst/", MaxUploads=2, **kwargs)
            seen += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
            if not page["IsTruncated"]:
                break
            kwargs = {"KeyMarker": page["NextKeyMarker"],
                      "UploadIdMarker": page["NextUploadIdMarker"]}
        self.assertEqual(sorted(seen), sorted((k, u) for k, us in ids.items() for u in us))
        for key, us in ids.items():
            for u in us:
                s3.abort_multipart_upload(Bucket="mpu", Key=key, UploadId=u)
        r = s3.list_multipart_uploads(Bucket="mpu", Prefix="lst/")
        self.assertEqual(r.get("Uploads", []), [])

    def test_upload_part_copy_with_ranges(self):
        s3 = self.s3
        source = pattern(12 * MiB + 5, 7)
        s3.put_object(Bucket="mpu", Key="copy/src", Body=source)
        upload_id = s3.create_multipart_upload(Bucket="mpu", Key="copy/dst")["UploadId"]
        cut = 6 * MiB
        r1 = s3.upload_part_copy(Bucket="mpu", Key="copy/dst", UploadId=upload_id, PartNumber=1,
                                 CopySource={"Bucket": "mpu", "Key": "copy/src"},
                                 CopySourceRange="bytes=0-%d" % (cut - 1))
        self.assertEqual(r1["CopyPartResult"]["ETag"],
                         '"%s"' % hashlib.md5(source[:cut]).hexdigest())
        r2 = s3.upload_part_copy(Bucket="mpu", Key="copy/dst", UploadId=upload_id, PartNumber=2,
                                 CopySource="mpu/copy/src",
                                 CopySourceRange="bytes=%d-%d" % (cut, len(source) - 1))
        tail = s3.upload_part(Bucket="mpu", Key="copy/dst", UploadId=upload_id, PartNumber=3,
                              Body=b"+extra")
        self.complete("copy/dst", upload_id, [
            {"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
            {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]},
            {"PartNumber": 3, "ETag": tail["ETag"]}])
        got = s3.get_object(Bucket="mpu", Key="copy/dst")["Body"].read()
        self.assertEqual(got, source + b"+extra")

        upload_id = s3.create_multipart_upload(Bucket="mpu", Key="copy/bad")["UploadId"]
        args = dict(Bucket="mpu", Key="copy/bad", UploadId=upload_id, PartNumber=1,
                    CopySource={"Bucket": "mpu", "Key": "copy/src"})
        self.assertEqual(self.error_code(s3.upload_part_copy, CopySourceRange="bytes=0-%d"
                                         % len(source), **args), ("InvalidRange", 416))
        self.assertEqual(self.error_code(s3.upload_part_copy, CopySourceIfMatch='"0000"',
                                         **args), ("PreconditionFailed", 412))
        self.assertEqual(self.error_code(s3.upload_part_copy, CopySourceIfNoneMatch="*",
                                         **args), ("PreconditionFailed", 412))
        self.assertEqual(self.error_code(
            s3.upload_part_copy, Bucket="mpu", Key="copy/bad", UploadId=upload_id, PartNumber=1,
            CopySource={"Bucket": "mpu", "Key": "copy/none"})[0], "NoSuchKey")
        r = s3.upload_part_copy(CopySourceIfMatch=s3.head_object(Bucket="mpu", Key="copy/src")
                                ["ETag"], CopySourceRange="bytes=10-19", **args)
        parts = s3.list_parts(Bucket="mpu", Key="copy/bad", UploadId=upload_id)["Parts"]
        self.assertEqual([(p["PartNumber"], p["Size"], p["ETag"]) for p in parts],
                         [(1, 10, r["CopyPartResult"]["ETag"])])
        s3.abort_multipart_upload(Bucket="mpu", Key="copy/bad", UploadId=upload_id)

    def test_abort(self):
        s3 = self.s3
        upload_id, parts = self.upload_parts("ab/x", [pattern(5 * MiB, 8), b"end"])
        s3.abort_multipart_upload(Bucket="mpu", Key="ab/x", UploadId=upload_id)
        uploads = s3.list_multipart_uploads(Bucket="mpu", Prefix="ab/").get("Uploads", [])
        self.assertEqual(uploads, [])
        self.assertEqual(self.error_code(self.complete, "ab/x", upload_id, parts),
                         ("NoSuchUpload", 404))
        self.assertEqual(self.error_code(s3.upload_part, Bucket="mpu", Key="ab/x",
                                         UploadId=upload_id, PartNumber=3, Body=b"late"),
                         ("NoSuchUpload", 404))
        self.assertEqual(self.error_code(s3.abort_multipart_upload, Bucket="mpu", Key="ab/x",
                                         UploadId=upload_id), ("NoSuchUpload", 404))
        self.assertEqual(self.error_code(s3.head_object, Bucket="mpu", Key="ab/x")[1], 404)
        # The parts' shards are deleted from the nodes.
        harness.poll(lambda: self.dev.metrics().get("mosaic_gateway_deletion_backlog") == 0, 60,
                     what="the aborted parts to be deleted")

    def test_rights(self):
        s3 = self.s3
        s3.create_bucket(Bucket="mpu-other")
        s3.put_object(Bucket="mpu-other", Key="src", Body=b"secret")
        upload_id, _ = self.upload_parts("rights/k", [b"x"])
        reader = self.dev.client(*self.dev.create_key("mp-reader", [("mpu", "read")]))
        writer = self.dev.client(*self.dev.create_key("mp-writer", [("mpu", "write")]))
        self.assertEqual(len(reader.list_parts(Bucket="mpu", Key="rights/k",
                                               UploadId=upload_id)["Parts"]), 1)
        self.assertIn(upload_id, [u["UploadId"] for u in reader.list_multipart_uploads(
            Bucket="mpu", Prefix="rights/")["Uploads"]])
        for call, kwargs in ((reader.create_multipart_upload, {"Key": "rights/n"}),
                             (reader.upload_part, {"Key": "rights/k", "UploadId": upload_id,
                                                   "PartNumber": 2, "Body": b"y"}),
                             (reader.abort_multipart_upload, {"Key": "rights/k",
                                                              "UploadId": upload_id})):
            self.assertEqual(self.error_code(call, Bucket="mpu", **kwargs),
                             ("AccessDenied", 403), call.__name__)
        # A writer of this bucket cannot copy from a bucket it may not read.
        self.assertEqual(self.error_code(
            writer.upload_part_copy, Bucket="mpu", Key="rights/k", UploadId=upload_id,
            PartNumber=2, CopySource={"Bucket": "mpu-other", "Key": "src"}),
            ("AccessDenied", 403))
        self.assertEqual(len(s3.list_parts(Bucket="mpu", Key="rights/k",
                                           UploadId=upload_id)["Parts"]), 1)
        writer.abort_multipart_upload(Bucket="mpu", Key="rights/k", UploadId=upload_id)

    def test_bad_content_md5_refuses_the_part(self):
        s3 = self.s3
        upload_id, parts = self.upload_parts("md5/k", [b"good"])
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        self.assertEqual(self.error_code(s3.upload_part, Bucket="mpu", Key="md5/k",
                                         UploadId=upload_id, PartNumber=1, Body=b"bad",
                                         ContentMD5=wrong), ("BadDigest", 400))
        listed = s3.list_parts(Bucket="mpu", Key="md5/k", UploadId=upload_id)["Parts"]
        self.assertEqual([p["ETag"] for p in listed], [parts[0]["ETag"]])
        self.complete("md5/k", upload_id, parts)
        self.assertEqual(s3.get_object(Bucket="mpu", Key="md5/k")["Body"].read(), b"good")

    def test_completion_errors(self):
        s3 = self.s3
        small = [b"a" * 1000, b"b" * 1000]
        upload_id, parts = self.upload_parts("err/small", small)
        self.assertEqual(self.error_code(self.complete, "err/small", upload_id, parts),
                         ("EntityTooSmall", 400))
        # One small part alone is fine: the last part has no minimum.
        self.complete("err/small", upload_id, parts[1:])
        self.assertEqual(s3.get_object(Bucket="mpu", Key="err/small")["Body"].read(), small[1])

        bodies = [pattern(5 * MiB, 9), b"last"]
        upload_id, parts = self.upload_parts("err/parts", bodies)
        wrong = [parts[0], {"PartNumber": 2, "ETag": '"%s"' % ("0" * 32)}]
        self.assertEqual(self.error_code(self.complete, "err/parts", upload_id, wrong),
                         ("InvalidPart", 400))
        missing = parts + [{"PartNumber": 3, "ETag": parts[1]["ETag"]}]
        self.assertEqual(self.error_code(self.complete, "err/parts", upload_id, missing)[0],
                         "InvalidPart")
        self.assertEqual(self.error_code(self.complete, "err/parts", upload_id,
                                         [parts[1], parts[0]]), ("InvalidPartOrder", 400))
        self.assertEqual(self.error_code(self.complete, "err/parts", upload_id, [])[0],
                         "MalformedXML")
        self.assertEqual(self.error_code(s3.upload_part, Bucket="mpu", Key="err/parts",
                                         UploadId=upload_id, PartNumber=10001, Body=b"x"),
                         ("InvalidArgument", 400))
        self.assertEqual(self.error_code(s3.upload_part, Bucket="mpu", Key="err/parts",
                                         UploadId="0" * 32, PartNumber=1, Body=b"x"),
                         ("NoSuchUpload", 404))
        # After all the refusals the upload is intact and completes.
        self.complete("err/parts", upload_id, parts)
        self.assertEqual(s3.get_object(Bucket="mpu", Key="err/parts")["Body"].read(),
                         b"".join(bodies))

    def test_if_none_match_on_complete(self):
        s3 = self.s3
        client = self.dev.client()

        def if_none_match(request, **kwargs):
            request.headers["If-None-Match"] = "*"

        client.meta.events.register("before-sign.s3.CompleteMultipartUpload", if_none_match)
        upload_id, parts = self.upload_parts("cond/new", [b"first"])
        self.complete("cond/new", upload_id, parts, client=client)  # no object yet: allowed
        upload_id, parts = self.upload_parts("cond/new", [b"second"])
        self.assertEqual(self.error_code(self.complete, "cond/new", upload_id, parts,
                                         client=client), ("PreconditionFailed", 412))
        self.assertEqual(s3.get_object(Bucket="mpu", Key="cond/new")["Body"].read(), b"first")
        # The refused completion left the upload as it was.
        self.complete("cond/new", upload_id, parts)
        self.assertEqual(s3.get_object(Bucket="mpu", Key="cond/new")["Body"].read(), b"second")

    def test_tags_given_at_creation_reach_the_object(self):
        upload_id, parts = self.upload_parts("tagged", [b"small and last"],
                                             Tagging="team=archive&year=2026")
        self.complete("tagged", upload_id, parts)
        tags = self.s3.get_object_tagging(Bucket="mpu", Key="tagged")["TagSet"]
        self.assertEqual(tags, [{"Key": "team", "Value": "archive"},
                                {"Key": "year", "Value": "2026"}])
        self.assertEqual(self.error_code(self.s3.create_multipart_upload, Bucket="mpu",
                                         Key="badtags", Tagging="aws:x=1"),
                         ("InvalidTag", 400))

    def test_checksum_algorithm_is_recorded(self):
        s3 = self.s3
        r = s3.create_multipart_upload(Bucket="mpu", Key="ck/a", ChecksumAlgorithm="CRC32")
        self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-algorithm"),
                         "CRC32")
        self.assertEqual(r["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-type"),
                         "COMPOSITE")
        s3.abort_multipart_upload(Bucket="mpu", Key="ck/a", UploadId=r["UploadId"])

    def test_awscli_large_file_and_s3api(self):
        if not os.access("/usr/bin/aws", os.X_OK):
            self.skipTest("Debian's awscli is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "config")
            with open(cfg, "w") as f:
                f.write("[default]\ns3 =\n  multipart_threshold = 16MB\n"
                        "  multipart_chunksize = 16MB\n")
            env = self.dev.tool_env()
            env.update({"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                        "AWS_PAGER": "", "HOME": tmp})
            aws = ["/usr/bin/aws", "--endpoint-url", self.dev.endpoint]
            src, dst = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.bin")
            digest = write_pattern_file(src, GiB + 17, 11)
            run(aws + ["s3", "cp", src, "s3://mpu/cli/big.bin"], env=env)
            head = self.s3.head_object(Bucket="mpu", Key="cli/big.bin")
            self.assertEqual(head["ContentLength"], GiB + 17)
            self.assertTrue(head["ETag"].endswith('-65"'), head["ETag"])
            os.unlink(src)
            run(aws + ["s3", "cp", "s3://mpu/cli/big.bin", dst], env=env)
            self.assertEqual(file_md5(dst), digest)
            os.unlink(dst)
            self.s3.delete_object(Bucket="mpu", Key="cli/big.bin")

            api = aws + ["s3api", "--output", "json"]
            part1 = os.path.join(tmp, "p1")
            with open(part1, "wb") as f:
                f.write(pattern(5 * MiB, 12))
            self.s3.put_object(Bucket="mpu", Key="cli/src", Body=pattern(3 * MiB, 13))
            up = json.loads(run(api + ["create-multipart-upload", "--bucket", "mpu", "--key",
                                       "cli/manual"], env=env))["UploadId"]
            e1 = json.loads(run(api + ["upload-part", "--bucket", "mpu", "--key", "cli/manual",
                                       "--upload-id", up, "--part-number", "1", "--body", part1],
                                env=env))["ETag"]
            e2 = json.loads(run(api + ["upload-part-copy", "--bucket", "mpu", "--key",
                                       "cli/manual", "--upload-id", up, "--part-number", "2",
                                       "--copy-source", "mpu/cli/src", "--copy-source-range",
                                       "bytes=100-1099"], env=env))["CopyPartResult"]["ETag"]
            listed = json.loads(run(api + ["list-parts", "--bucket", "mpu", "--key", "cli/manual",
                                           "--upload-id", up], env=env))
            self.assertEqual([(p["PartNumber"], p["Size"]) for p in listed["Parts"]],
                             [(1, 5 * MiB), (2, 1000)])
            uploads = json.loads(run(api + ["list-multipart-uploads", "--bucket", "mpu",
                                            "--prefix", "cli/"], env=env))
            self.assertEqual([u["UploadId"] for u in uploads["Uploads"]], [up])
            spec = os.path.join(tmp, "parts.json")
            with open(spec, "w") as f:
                json.dump({"Parts": [{"PartNumber": 1, "ETag": e1},
                                     {"PartNumber": 2, "ETag": e2}]}, f)
            run(api + ["complete-multipart-upload", "--bucket", "mpu", "--key", "cli/manual",
                       "--upload-id", up, "--multipart-upload", "file://" + spec], env=env)
            got = self.s3.get_object(Bucket="mpu", Key="cli/manual")["Body"].read()
            self.assertEqual(got, pattern(5 * MiB, 12) + pattern(3 * MiB, 13)[100:1100])

            up = json.loads(run(api + ["create-multipart-upload", "--bucket", "mpu", "--key",
                                       "cli/aborted"], env=env))["UploadId"]
            run(api + ["abort-multipart-upload", "--bucket", "mpu", "--key", "cli/aborted",
                       "--upload-id", up], env=env)
            uploads = json.loads(run(api + ["list-multipart-uploads", "--bucket", "mpu",
                                            "--prefix", "cli/"], env=env) or b"{}")
            self.assertEqual(uploads.get("Uploads", []), [])


class RestartTest(harness.DevTestCase):
    def test_gateway_restart_in_the_middle(self):
        s3 = self.s3
        s3.create_bucket(Bucket="restart")
        bodies = [pattern(5 * MiB, 20), pattern(5 * MiB, 21), b"the end"]
        upload_id = s3.create_multipart_upload(Bucket="restart", Key="k")["UploadId"]
        e1 = s3.upload_part(Bucket="restart", Key="k", UploadId=upload_id, PartNumber=1,
                            Body=bodies[0])["ETag"]
        self.dev.restart_gateway()
        s3 = self.dev.client()
        parts = s3.list_parts(Bucket="restart", Key="k", UploadId=upload_id)["Parts"]
        self.assertEqual([(p["PartNumber"], p["ETag"]) for p in parts], [(1, e1)])
        etags = [e1] + [s3.upload_part(Bucket="restart", Key="k", UploadId=upload_id, PartNumber=i,
                                       Body=bodies[i - 1])["ETag"] for i in (2, 3)]
        s3.complete_multipart_upload(
            Bucket="restart", Key="k", UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                       for i, e in enumerate(etags)]})
        self.assertEqual(s3.get_object(Bucket="restart", Key="k")["Body"].read(), b"".join(bodies))


class NodeLossTest(harness.DevTestCase):
    """Breaks the system: its own `mosaic dev`."""

    def test_two_nodes_killed_during_a_large_upload(self):
        s3 = self.s3
        s3.create_bucket(Bucket="loss")
        size = 1024 * MiB + 3  # 129 parts of 8 MiB (about 45 s on the 2-core test machine)
        config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB,
                                max_concurrency=4)
        sent = [0]
        lock = threading.Lock()

        def progress(n):
            with lock:
                sent[0] += n

        with tempfile.TemporaryDirectory() as tmp:
            src, dst = os.path.join(tmp, "in"), os.path.join(tmp, "out")
            digest = write_pattern_file(src, size, 30)
            errors = []

            def upload():
                try:
                    s3.upload_file(src, "loss", "big", Config=config, Callback=progress)
                except Exception as e:  # reported below, on the test's thread
                    errors.append(e)

            t = threading.Thread(target=upload)
            t.start()
            harness.poll(lambda: sent[0] >= size // 4 or not t.is_alive(), 300,
                         what="a quarter of the upload")
            self.assertTrue(t.is_alive(), "the upload ended before the nodes were killed")
            victims = self.dev.processes("node")[1:3]
            for v in victims:
                os.kill(v["pid"], signal.SIGKILL)
            t.join(600)
            self.assertFalse(t.is_alive())
            self.assertEqual(errors, [])
            self.assertGreaterEqual(sent[0], size)
            head = s3.head_object(Bucket="loss", Key="big")
            self.assertEqual(head["ContentLength"], size)
            self.assertTrue(head["ETag"].endswith('-129"'), head["ETag"])
            s3.download_file("loss", "big", dst, Config=config)
            self.assertEqual(file_md5(dst), digest)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
