"""CopyObject, DeleteObjects, object tagging and conditional writes through boto3 and curl
(issue 6), against a real `mosaic dev`."""

import base64
import datetime
import hashlib
import subprocess
import sys
import threading
import unittest
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

import harness
from harness import pattern

MiB = 1 << 20
PAST = datetime.datetime(2001, 1, 1, tzinfo=datetime.timezone.utc)
FUTURE = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)


def client_with_headers(dev, operation, headers):
    """A client that adds `headers` to every request of `operation` (boto3 1.26 has no
    parameter for If-None-Match / If-Match on writes)."""
    client = dev.client()

    def add(request, **_):
        for name, value in headers.items():
            del request.headers[name]  # HTTPHeaders appends on assignment: replace instead
            request.headers[name] = value

    client.meta.events.register("before-sign.s3." + operation, add)
    return client


def tags_of(response):
    return [(t["Key"], t["Value"]) for t in response["TagSet"]]


class CopyTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for bucket in ("copy-a", "copy-b"):
            cls.s3.create_bucket(Bucket=bucket)

    def put_source(self, key, body=b"source body", **extra):
        return self.s3.put_object(Bucket="copy-a", Key=key, Body=body,
                                  ContentType="text/x-source", Metadata={"color": "blue"},
                                  **extra)

    def test_copy_keeps_metadata_and_tags_by_default(self):
        put = self.put_source("meta/src", Tagging="team=blue&tier=hot%20data")
        src = self.s3.head_object(Bucket="copy-a", Key="meta/src")
        r = self.s3.copy_object(Bucket="copy-b", Key="meta/dst",
                                CopySource={"Bucket": "copy-a", "Key": "meta/src"})
        self.assertEqual(r["CopyObjectResult"]["ETag"], put["ETag"])
        self.assertGreaterEqual(r["CopyObjectResult"]["LastModified"], src["LastModified"])
        got = self.s3.get_object(Bucket="copy-b", Key="meta/dst")
        self.assertEqual(got["Body"].read(), b"source body")
        self.assertEqual(got["ContentType"], "text/x-source")
        self.assertEqual(got["Metadata"], {"color": "blue"})
        self.assertEqual(got["ETag"], put["ETag"])
        self.assertEqual(got["TagCount"], 2)
        self.assertEqual(tags_of(self.s3.get_object_tagging(Bucket="copy-b", Key="meta/dst")),
                         [("team", "blue"), ("tier", "hot data")])

    def test_copy_replaces_metadata_and_tags_when_asked(self):
        self.put_source("replace/src", Tagging="old=1")
        self.s3.copy_object(Bucket="copy-b", Key="replace/dst", MetadataDirective="REPLACE",
                            ContentType="application/x-new", Metadata={"shape": "round"},
                            TaggingDirective="REPLACE", Tagging="new=2",
                            CopySource="copy-a/replace/src")
        head = self.s3.head_object(Bucket="copy-b", Key="replace/dst")
        self.assertEqual(head["ContentType"], "application/x-new")
        self.assertEqual(head["Metadata"], {"shape": "round"})
        self.assertEqual(tags_of(self.s3.get_object_tagging(Bucket="copy-b", Key="replace/dst")),
                         [("new", "2")])
        # Metadata replaced, tags copied.
        self.s3.copy_object(Bucket="copy-b", Key="replace/dst2", MetadataDirective="REPLACE",
                            CopySource="/copy-a/replace/src")
        head = self.s3.head_object(Bucket="copy-b", Key="replace/dst2")
        self.assertEqual(head["Metadata"], {})
        self.assertEqual(head["ContentType"], "binary/octet-stream")
        self.assertEqual(head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"], "1")
        for directive in ("MetadataDirective", "TaggingDirective"):
            self.assertEqual(
                self.error_code(self.s3.copy_object, Bucket="copy-b", Key="replace/bad",
                                CopySource="copy-a/replace/src", **{directive: "MOVE"}),
                ("InvalidArgument", 400))

    def test_copy_source_names_and_versions(self):
        key = "odd name+é/100%?.txt"
        self.s3.put_object(Bucket="copy-a", Key=key, Body=b"odd")
        self.s3.copy_object(Bucket="copy-b", Key="odd", CopySource={"Bucket": "copy-a", "Key": key})
        self.assertEqual(self.s3.get_object(Bucket="copy-b", Key="odd")["Body"].read(), b"odd")
        self.s3.copy_object(Bucket="copy-b", Key="odd-null",
                            CopySource={"Bucket": "copy-a", "Key": key, "VersionId": "null"})
        self.assertEqual(self.s3.get_object(Bucket="copy-b", Key="odd-null")["Body"].read(), b"odd")
        code = self.error_code(self.s3.copy_object, Bucket="copy-b", Key="odd-v",
                               CopySource={"Bucket": "copy-a", "Key": key, "VersionId": "abc"})
        self.assertEqual(code, ("InvalidArgument", 400))
        self.assertEqual(self.error_code(self.s3.copy_object, Bucket="copy-b", Key="x",
                                         CopySource="copy-a"), ("InvalidArgument", 400))
        self.assertEqual(self.error_code(self.s3.copy_object, Bucket="copy-b", Key="x",
                                         CopySource="copy-a/absent"), ("NoSuchKey", 404))
        self.assertEqual(self.error_code(self.s3.copy_object, Bucket="copy-b", Key="x",
                                         CopySource="copy-none/k"), ("NoSuchBucket", 404))
        self.assertEqual(self.error_code(self.s3.copy_object, Bucket="copy-none", Key="x",
                                         CopySource={"Bucket": "copy-a", "Key": key}),
                         ("NoSuchBucket", 404))

    def test_copy_onto_itself(self):
        body = pattern(200000, 3)
        put = self.put_source("self", body=body)
        code = self.error_code(self.s3.copy_object, Bucket="copy-a", Key="self",
                               CopySource="copy-a/self")
        self.assertEqual(code, ("InvalidRequest", 400))
        self.s3.copy_object(Bucket="copy-a", Key="self", CopySource="copy-a/self",
                            MetadataDirective="REPLACE", Metadata={"color": "red"},
                            ContentType="text/x-replaced")
        got = self.s3.get_object(Bucket="copy-a", Key="self")
        self.assertTrue(got["Body"].read() == body)
        self.assertEqual(got["Metadata"], {"color": "red"})
        self.assertEqual(got["ContentType"], "text/x-replaced")
        self.assertEqual(got["ETag"], put["ETag"])
        # Changing only the tags is a change too.
        self.s3.copy_object(Bucket="copy-a", Key="self", CopySource="copy-a/self",
                            TaggingDirective="REPLACE", Tagging="only=tags")
        self.assertEqual(tags_of(self.s3.get_object_tagging(Bucket="copy-a", Key="self")),
                         [("only", "tags")])
        self.assertEqual(self.s3.head_object(Bucket="copy-a", Key="self")["Metadata"],
                         {"color": "red"})

    def test_copy_needs_read_on_the_source_and_write_on_the_destination(self):
        self.put_source("rights/src", Tagging="t=1")
        args = {"Bucket": "copy-b", "Key": "rights/dst", "CopySource": "copy-a/rights/src"}
        cases = ((("copy-a", "read"),), (("copy-b", "write"),),
                 (("copy-a", "read"), ("copy-b", "read")))
        for i, grants in enumerate(cases):
            client = self.dev.client(*self.dev.create_key("copy-denied-%d" % i, grants))
            self.assertEqual(self.error_code(client.copy_object, **args), ("AccessDenied", 403),
                             grants)
        allowed = self.dev.client(*self.dev.create_key(
            "copy-allowed", (("copy-a", "read"), ("copy-b", "write"))))
        allowed.copy_object(**args)
        self.assertEqual(allowed.get_object(Bucket="copy-b", Key="rights/dst")["Body"].read(),
                         b"source body")
        # Tags: READ reads them, WRITE changes them.
        reader = self.dev.client(*self.dev.create_key("tag-reader", (("copy-a", "read"),)))
        self.assertEqual(tags_of(reader.get_object_tagging(Bucket="copy-a", Key="rights/src")),
                         [("t", "1")])
        for call, extra in ((reader.put_object_tagging, {"Tagging": {"TagSet": []}}),
                            (reader.delete_object_tagging, {})):
            self.assertEqual(self.error_code(call, Bucket="copy-a", Key="rights/src", **extra),
                             ("AccessDenied", 403))
        self.assertEqual(tags_of(self.s3.get_object_tagging(Bucket="copy-a", Key="rights/src")),
                         [("t", "1")])

    def test_copy_source_conditions(self):
        etag = self.put_source("cond/src")["ETag"]
        args = {"Bucket": "copy-b", "Key": "cond/dst", "CopySource": "copy-a/cond/src"}
        for ok in ({"CopySourceIfMatch": etag}, {"CopySourceIfNoneMatch": '"0000"'},
                   {"CopySourceIfModifiedSince": PAST},
                   {"CopySourceIfUnmodifiedSince": FUTURE},
                   # S3: a matching if-match wins over a failing if-unmodified-since.
                   {"CopySourceIfMatch": etag, "CopySourceIfUnmodifiedSince": PAST}):
            self.s3.copy_object(**args, **ok)
        for failing in ({"CopySourceIfMatch": '"0000"'}, {"CopySourceIfNoneMatch": etag},
                        {"CopySourceIfModifiedSince": FUTURE},
                        {"CopySourceIfUnmodifiedSince": PAST},
                        {"CopySourceIfNoneMatch": etag, "CopySourceIfModifiedSince": PAST}):
            self.assertEqual(self.error_code(self.s3.copy_object, **args, **failing),
                             ("PreconditionFailed", 412), failing)

    def test_copy_destination_conditions(self):
        self.put_source("dcond/src")
        args = {"Bucket": "copy-b", "Key": "dcond/dst", "CopySource": "copy-a/dcond/src"}
        none_match = client_with_headers(self.dev, "CopyObject", {"If-None-Match": "*"})
        none_match.copy_object(**args)
        self.assertEqual(self.error_code(none_match.copy_object, **args),
                         ("PreconditionFailed", 412))
        wrong = client_with_headers(self.dev, "CopyObject", {"If-Match": '"0000"'})
        self.assertEqual(self.error_code(wrong.copy_object, **args), ("PreconditionFailed", 412))

    def test_copy_of_a_large_object_shares_its_shards(self):
        """No data moves on a copy; deleting the source frees nothing; deleting both frees
        every shard on the nodes."""
        body = pattern(9 * MiB + 12345, 77)
        baseline = self.settled_used_bytes()
        self.s3.put_object(Bucket="copy-a", Key="big/src", Body=body)
        stored = self.used_bytes()
        self.assertGreater(stored, baseline + len(body))  # k+m shards, sealed
        deleted_before = self.deleted_objects()
        self.s3.copy_object(Bucket="copy-b", Key="big/dst", CopySource="copy-a/big/src")
        self.assertEqual(self.used_bytes(), stored)
        got = self.s3.get_object(Bucket="copy-b", Key="big/dst")["Body"].read()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(body).hexdigest())

        self.s3.delete_object(Bucket="copy-a", Key="big/src")
        self.assertEqual(self.settled_used_bytes(), stored)
        self.assertEqual(self.deleted_objects(), deleted_before)
        got = self.s3.get_object(Bucket="copy-b", Key="big/dst")["Body"].read()
        self.assertTrue(got == body)

        self.s3.delete_object(Bucket="copy-b", Key="big/dst")
        # The deleter counts an object once its queue entry is finished, which is after the
        # nodes dropped its shards (jobs/deleter.cc): wait for the counter, not for the bytes
        # (the bytes drop first; reading the counter then raced with the deleter).
        harness.poll(lambda: self.deleted_objects() == deleted_before + 1, 120, 0.2,
                     what="the deleter to count the deleted object")
        harness.poll(lambda: self.used_bytes() == baseline, 120, 0.2,
                     what="the shards to be deleted on the nodes")
        self.assertEqual(self.deleted_objects(), deleted_before + 1)

    # --- helpers for the shard accounting ---------------------------------------------

    def used_bytes(self):
        """Chunk bytes stored on all nodes (each node's mosaic_node_used_bytes)."""
        total = 0
        for node in self.dev.processes("node"):
            url = "http://%s/metrics" % node["metrics"]
            with urllib.request.urlopen(url, timeout=10) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("mosaic_node_used_bytes"):
                        total += int(float(line.rpartition(" ")[2]))
        return total

    def backlog(self):
        return self.dev.metrics().get("mosaic_gateway_deletion_backlog", 0)

    def deleted_objects(self):
        return self.dev.metrics().get("mosaic_gateway_deleted_objects_total", 0)

    def settled_used_bytes(self):
        """Used bytes once the gateway's deletion queue is empty."""
        harness.poll(lambda: self.backlog() == 0, 120, 0.2, what="the deletion backlog to drain")
        return self.used_bytes()


class DeleteObjectsTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="multi")

    def keys(self, prefix="many/"):
        out, token = [], None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            r = self.s3.list_objects_v2(Bucket="multi", Prefix=prefix, **extra)
            out += [o["Key"] for o in r.get("Contents", [])]
            if not r["IsTruncated"]:
                return out
            token = r["NextContinuationToken"]

    def test_delete_1000_keys_verbose_then_quiet(self):
        names = ["many/%04d" % i for i in range(1000)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda k: self.s3.put_object(Bucket="multi", Key=k, Body=k.encode()),
                          names))
        self.assertEqual(len(self.keys()), 1000)

        # Verbose: 900 existing keys and 100 missing ones, all Deleted.
        batch = names[:900] + ["many/missing/%d" % i for i in range(100)]
        r = self.s3.delete_objects(Bucket="multi", Delete={
            "Objects": [{"Key": k} for k in batch], "Quiet": False})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), sorted(batch))
        self.assertNotIn("Errors", r)
        self.assertEqual(self.keys(), names[900:])

        # Quiet: only the errors are listed.
        long_key = "many/" + "x" * 1100
        batch = [{"Key": k} for k in names[900:]] + [{"Key": long_key},
                                                     {"Key": "many/v", "VersionId": "abc"},
                                                     {"Key": "many/null", "VersionId": "null"}]
        r = self.s3.delete_objects(Bucket="multi", Delete={"Objects": batch, "Quiet": True})
        self.assertNotIn("Deleted", r)
        errors = {e["Key"]: e["Code"] for e in r["Errors"]}
        self.assertEqual(errors, {long_key: "KeyTooLongError", "many/v": "InvalidArgument"})
        self.assertEqual(self.keys(), [])

    def test_more_than_1000_keys_is_malformed(self):
        self.s3.put_object(Bucket="multi", Key="keep", Body=b"k")
        objects = [{"Key": "keep"}] + [{"Key": "k%d" % i} for i in range(1000)]
        self.assertEqual(self.error_code(self.s3.delete_objects, Bucket="multi",
                                         Delete={"Objects": objects}), ("MalformedXML", 400))
        self.s3.head_object(Bucket="multi", Key="keep")  # nothing was deleted

    def test_errors_of_the_whole_request(self):
        self.assertEqual(self.error_code(self.s3.delete_objects, Bucket="multi-none",
                                         Delete={"Objects": [{"Key": "k"}]}),
                         ("NoSuchBucket", 404))
        # boto3 adds Content-MD5; one that does not match the body is BadDigest.
        bad_md5 = client_with_headers(self.dev, "DeleteObjects",
                                      {"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="})
        self.assertEqual(self.error_code(bad_md5.delete_objects, Bucket="multi",
                                         Delete={"Objects": [{"Key": "k"}]}),
                         ("BadDigest", 400))
        not_md5 = client_with_headers(self.dev, "DeleteObjects", {"Content-MD5": "nope"})
        self.assertEqual(self.error_code(not_md5.delete_objects, Bucket="multi",
                                         Delete={"Objects": [{"Key": "k"}]}),
                         ("InvalidDigest", 400))

    def test_curl_malformed_body_and_missing_md5(self):
        user = "%s:%s" % (self.dev.env["AWS_ACCESS_KEY_ID"], self.dev.env["AWS_SECRET_ACCESS_KEY"])
        url = self.dev.endpoint + "/multi/?delete="
        self.s3.put_object(Bucket="multi", Key="curl-keep", Body=b"k")

        def post(body, *headers):
            cmd = ["curl", "-sS", "--noproxy", "*", "--aws-sigv4", "aws:amz:us-east-1:s3",
                   "--user", user, "-X", "POST", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                   "--data-binary", "@-", "-w", "\n%{http_code}"]
            for h in headers:
                cmd += ["-H", h]
            out = subprocess.run(cmd + [url], input=body, capture_output=True, timeout=60,
                                 check=True).stdout
            text, _, status = out.rpartition(b"\n")
            return int(status), text

        body = b"<Delete><Object><Key>curl-keep</Key></Object>"  # unclosed
        md5 = "Content-MD5: " + base64.b64encode(hashlib.md5(body).digest()).decode()
        status, text = post(body, md5)
        self.assertEqual(status, 400, text)
        self.assertIn(b"<Code>MalformedXML</Code>", text)
        good = b"<Delete><Object><Key>curl-keep</Key></Object></Delete>"
        status, text = post(good)
        self.assertEqual(status, 400, text)
        self.assertIn(b"<Code>InvalidRequest</Code>", text)
        self.assertIn(b"Content-MD5", text)
        self.s3.head_object(Bucket="multi", Key="curl-keep")
        status, text = post(good, "Content-MD5: " + base64.b64encode(
            hashlib.md5(good).digest()).decode())
        self.assertEqual(status, 200, text)
        self.assertIn(b"<Deleted><Key>curl-keep</Key></Deleted>", text)
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="multi", Key="curl-keep")[1],
                         404)


class ConditionalPutTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="cond")

    def test_if_none_match_race_has_one_winner(self):
        client = client_with_headers(self.dev, "PutObject", {"If-None-Match": "*"})
        for round_ in range(3):
            key = "race/%d" % round_
            barrier = threading.Barrier(8)

            def put(i):
                body = b"writer %d of round %d" % (i, round_) * 100
                barrier.wait(30)
                try:
                    client.put_object(Bucket="cond", Key=key, Body=body)
                    return i, 200, None
                except ClientError as e:
                    return (i, e.response["ResponseMetadata"]["HTTPStatusCode"],
                            e.response["Error"]["Code"])

            with ThreadPoolExecutor(8) as pool:
                results = list(pool.map(put, range(8)))
            winners = [i for i, status, _ in results if status == 200]
            self.assertEqual(len(winners), 1, results)
            self.assertEqual(sorted((s, c) for _, s, c in results if s != 200),
                             [(412, "PreconditionFailed")] * 7)
            got = self.s3.get_object(Bucket="cond", Key=key)["Body"].read()
            self.assertEqual(got, b"writer %d of round %d" % (winners[0], round_) * 100)

    def test_if_match(self):
        etag = self.s3.put_object(Bucket="cond", Key="m", Body=b"one")["ETag"]
        wrong = client_with_headers(self.dev, "PutObject", {"If-Match": '"0000"'})
        self.assertEqual(self.error_code(wrong.put_object, Bucket="cond", Key="m", Body=b"two"),
                         ("PreconditionFailed", 412))
        right = client_with_headers(self.dev, "PutObject", {"If-Match": etag})
        right.put_object(Bucket="cond", Key="m", Body=b"three")
        self.assertEqual(self.s3.get_object(Bucket="cond", Key="m")["Body"].read(), b"three")
        # The ETag changed: the same condition fails now.
        self.assertEqual(self.error_code(right.put_object, Bucket="cond", Key="m", Body=b"4"),
                         ("PreconditionFailed", 412))
        self.assertEqual(self.error_code(right.put_object, Bucket="cond", Key="absent",
                                         Body=b"x"), ("NoSuchKey", 404))


class TaggingTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="tags")

    def count_header(self, response):
        return response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-tagging-count")

    def test_put_get_delete_tagging(self):
        s3 = self.s3
        s3.put_object(Bucket="tags", Key="t", Body=b"tagged", Tagging="b=2&a=one%20two&c=")
        self.assertEqual(tags_of(s3.get_object_tagging(Bucket="tags", Key="t")),
                         [("b", "2"), ("a", "one two"), ("c", "")])
        self.assertEqual(self.count_header(s3.head_object(Bucket="tags", Key="t")), "3")
        self.assertEqual(s3.get_object(Bucket="tags", Key="t")["TagCount"], 3)

        tag_set = [{"Key": "z", "Value": "last & <first>"}, {"Key": "é", "Value": " "}]
        s3.put_object_tagging(Bucket="tags", Key="t", Tagging={"TagSet": tag_set})
        self.assertEqual(tags_of(s3.get_object_tagging(Bucket="tags", Key="t")),
                         [("z", "last & <first>"), ("é", " ")])
        self.assertEqual(self.count_header(s3.head_object(Bucket="tags", Key="t")), "2")
        self.assertEqual(s3.get_object(Bucket="tags", Key="t")["Body"].read(), b"tagged")

        r = s3.delete_object_tagging(Bucket="tags", Key="t")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(s3.get_object_tagging(Bucket="tags", Key="t")["TagSet"], [])
        self.assertIsNone(self.count_header(s3.head_object(Bucket="tags", Key="t")))

    def test_invalid_tags_and_missing_objects(self):
        s3 = self.s3
        s3.put_object(Bucket="tags", Key="v", Body=b"v", Tagging="keep=1")
        eleven = [{"Key": "k%d" % i, "Value": "v"} for i in range(11)]
        for tag_set in (eleven, [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}],
                        [{"Key": "k" * 129, "Value": "v"}], [{"Key": "k", "Value": "v" * 257}],
                        [{"Key": "aws:k", "Value": "v"}]):
            self.assertEqual(self.error_code(s3.put_object_tagging, Bucket="tags", Key="v",
                                             Tagging={"TagSet": tag_set}), ("InvalidTag", 400))
        self.assertEqual(tags_of(s3.get_object_tagging(Bucket="tags", Key="v")), [("keep", "1")])
        self.assertEqual(self.error_code(s3.put_object, Bucket="tags", Key="w", Body=b"w",
                                         Tagging="a=1&a=2"), ("InvalidTag", 400))
        self.assertEqual(self.error_code(s3.head_object, Bucket="tags", Key="w")[1], 404)
        for call, extra in ((s3.get_object_tagging, {}), (s3.delete_object_tagging, {}),
                            (s3.put_object_tagging, {"Tagging": {"TagSet": []}})):
            self.assertEqual(self.error_code(call, Bucket="tags", Key="absent", **extra),
                             ("NoSuchKey", 404))
            self.assertEqual(self.error_code(call, Bucket="tags-none", Key="absent", **extra),
                             ("NoSuchBucket", 404))


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
