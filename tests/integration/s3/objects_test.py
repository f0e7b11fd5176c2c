"""Buckets, objects, keys, ranges, conditionals and listing through boto3 (issue 5)."""

import datetime
import hashlib
import sys
import unittest
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import harness
from harness import pattern

MiB = 1 << 20


class BucketTest(harness.DevTestCase):
    def test_lifecycle(self):
        s3 = self.s3
        s3.create_bucket(Bucket="life")
        s3.head_bucket(Bucket="life")
        loc = s3.get_bucket_location(Bucket="life")
        self.assertIn(loc.get("LocationConstraint"), (None, "", "us-east-1"))
        ver = s3.get_bucket_versioning(Bucket="life")
        self.assertNotIn(ver.get("Status"), ("Enabled", "Suspended"))
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        self.assertIn("life", names)
        # Its owner creating it again: 200, as S3 answers in us-east-1 (issue 19).
        self.assertEqual(s3.create_bucket(Bucket="life")["ResponseMetadata"]["HTTPStatusCode"],
                         200)
        s3.put_object(Bucket="life", Key="k", Body=b"x")
        self.assertEqual(self.error_code(s3.delete_bucket, Bucket="life"),
                         ("BucketNotEmpty", 409))
        s3.delete_object(Bucket="life", Key="k")
        s3.delete_bucket(Bucket="life")
        self.assertEqual(self.error_code(s3.head_bucket, Bucket="life")[1], 404)
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        self.assertNotIn("life", names)

    def test_location_constraint_accepted(self):
        self.s3.create_bucket(Bucket="located",
                              CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
        self.s3.head_bucket(Bucket="located")

    def test_missing_bucket_and_key(self):
        self.s3.create_bucket(Bucket="present")
        self.assertEqual(self.error_code(self.s3.get_object, Bucket="absent", Key="k"),
                         ("NoSuchBucket", 404))
        self.assertEqual(self.error_code(self.s3.list_objects_v2, Bucket="absent"),
                         ("NoSuchBucket", 404))
        self.assertEqual(self.error_code(self.s3.get_object, Bucket="present", Key="nope"),
                         ("NoSuchKey", 404))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket="present", Key="nope")[1],
                         404)


class ObjectTest(harness.DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="obj")

    def round_trip(self, size, key):
        body = pattern(size, size & 0xFF)
        expires = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        put = self.s3.put_object(
            Bucket="obj", Key=key, Body=body, ContentType="application/x-test",
            ContentEncoding="identity", ContentDisposition='attachment; filename="a b.bin"',
            ContentLanguage="de-CH", CacheControl="max-age=60", Expires=expires,
            Metadata={"color": "blue", "long-name": "v" * 100})
        md5 = hashlib.md5(body).hexdigest()
        self.assertEqual(put["ETag"], '"%s"' % md5)
        got = self.s3.get_object(Bucket="obj", Key=key)
        data = got["Body"].read()
        self.assertEqual(len(data), size)
        self.assertTrue(data == body, "bytes differ for %s" % key)
        for r in (got, self.s3.head_object(Bucket="obj", Key=key)):
            self.assertEqual(r["ContentLength"], size)
            self.assertEqual(r["ETag"], '"%s"' % md5)
            self.assertEqual(r["ContentType"], "application/x-test")
            self.assertEqual(r["ContentEncoding"], "identity")
            self.assertEqual(r["ContentDisposition"], 'attachment; filename="a b.bin"')
            self.assertEqual(r["ContentLanguage"], "de-CH")
            self.assertEqual(r["CacheControl"], "max-age=60")
            self.assertEqual(r["Expires"], expires)
            self.assertEqual(r["Metadata"], {"color": "blue", "long-name": "v" * 100})
            self.assertIsNotNone(r["LastModified"])

    def test_empty(self):
        self.round_trip(0, "zero")

    def test_one_byte(self):
        self.round_trip(1, "one")

    def test_one_mib(self):
        self.round_trip(MiB, "mib")

    def test_hundred_mib_single_put(self):
        self.round_trip(100 * MiB, "big")

    def test_odd_sizes_around_stripes(self):
        for size in (4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 12345):
            body = pattern(size, 7)
            self.s3.put_object(Bucket="obj", Key="odd/%d" % size, Body=body)
            self.assertEqual(self.s3.get_object(Bucket="obj", Key="odd/%d" % size)["Body"].read(),
                             body)

    def test_overwrite_and_delete(self):
        self.s3.put_object(Bucket="obj", Key="over", Body=b"first")
        self.s3.put_object(Bucket="obj", Key="over", Body=b"second version")
        self.assertEqual(self.s3.get_object(Bucket="obj", Key="over")["Body"].read(),
                         b"second version")
        self.s3.delete_object(Bucket="obj", Key="over")
        self.assertEqual(self.error_code(self.s3.get_object, Bucket="obj", Key="over")[0],
                         "NoSuchKey")
        # Deleting a missing key is a success in S3.
        self.s3.delete_object(Bucket="obj", Key="over")

    def test_awkward_keys(self):
        keys = ["with space", "ünïcödé/日本語/файл", "plus+sign", "per%cent", "a//double//slash",
                "/leading", "trailing/", "q?mark&amp=1#hash", "tilde~*'()!$,;:@=",
                "x" * 1024]
        for i, key in enumerate(keys):
            self.s3.put_object(Bucket="obj", Key="k/" + key if i < 9 else key, Body=key.encode())
        for i, key in enumerate(keys):
            full = "k/" + key if i < 9 else key
            self.assertEqual(self.s3.get_object(Bucket="obj", Key=full)["Body"].read(),
                             key.encode(), full)
        listed = [o["Key"] for o in
                  self.s3.list_objects_v2(Bucket="obj", Prefix="k/").get("Contents", [])]
        self.assertEqual(sorted(listed, key=lambda k: k.encode()), listed)
        self.assertEqual(set(listed), {"k/" + k for k in keys[:9]})
        code, status = self.error_code(self.s3.put_object, Bucket="obj", Key="y" * 1025, Body=b"")
        self.assertEqual(code, "KeyTooLongError")
        self.assertEqual(status, 400)

    def test_ranges(self):
        body = pattern(1000, 3)
        self.s3.put_object(Bucket="obj", Key="ranged", Body=body)
        cases = {"bytes=0-0": body[0:1], "bytes=10-19": body[10:20],
                 "bytes=990-": body[990:], "bytes=-7": body[-7:],
                 "bytes=900-5000": body[900:], "bytes=-5000": body}
        for spec, want in cases.items():
            r = self.s3.get_object(Bucket="obj", Key="ranged", Range=spec)
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 206, spec)
            self.assertEqual(r["Body"].read(), want, spec)
            self.assertEqual(r["ContentLength"], len(want), spec)
            self.assertTrue(r["ContentRange"].endswith("/1000"), r["ContentRange"])
        self.assertEqual(self.error_code(self.s3.get_object, Bucket="obj", Key="ranged",
                                         Range="bytes=1000-"), ("InvalidRange", 416))
        # A range across stripes of a large object.
        big = pattern(9 * MiB, 4)
        self.s3.put_object(Bucket="obj", Key="ranged-big", Body=big)
        r = self.s3.get_object(Bucket="obj", Key="ranged-big",
                               Range="bytes=%d-%d" % (4 * MiB - 10, 8 * MiB + 10))
        self.assertEqual(r["Body"].read(), big[4 * MiB - 10:8 * MiB + 11])

    def test_conditionals(self):
        self.s3.put_object(Bucket="obj", Key="cond", Body=b"conditional")
        head = self.s3.head_object(Bucket="obj", Key="cond")
        etag, modified = head["ETag"], head["LastModified"]
        before = modified - datetime.timedelta(days=1)
        after = modified + datetime.timedelta(days=1)
        ok = dict(Bucket="obj", Key="cond")
        self.assertEqual(self.s3.get_object(IfMatch=etag, **ok)["Body"].read(), b"conditional")
        self.assertEqual(self.error_code(self.s3.get_object, IfMatch='"00"', **ok),
                         ("PreconditionFailed", 412))
        self.assertEqual(self.error_code(self.s3.get_object, IfNoneMatch=etag, **ok)[1], 304)
        self.s3.get_object(IfNoneMatch='"00"', **ok)
        self.assertEqual(self.error_code(self.s3.get_object, IfModifiedSince=after, **ok)[1],
                         304)
        self.s3.get_object(IfModifiedSince=before, **ok)
        self.assertEqual(self.error_code(self.s3.get_object, IfUnmodifiedSince=before, **ok),
                         ("PreconditionFailed", 412))
        self.s3.get_object(IfUnmodifiedSince=after, **ok)
        self.assertEqual(self.error_code(self.s3.head_object, IfMatch='"00"', **ok)[1], 412)

    def test_response_overrides(self):
        self.s3.put_object(Bucket="obj", Key="over-hdr", Body=b"x", ContentType="text/plain")
        r = self.s3.get_object(Bucket="obj", Key="over-hdr", ResponseContentType="image/png",
                               ResponseContentDisposition="inline",
                               ResponseCacheControl="no-store")
        self.assertEqual(r["ContentType"], "image/png")
        self.assertEqual(r["ContentDisposition"], "inline")
        self.assertEqual(r["CacheControl"], "no-store")


class ListingTest(harness.DevTestCase):
    """2,500 keys in three 'folders', listed with both APIs and every paging option."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="many")
        cls.keys = sorted(["%s/%04d%s" % (d, i, " +%" if i % 100 == 0 else "")
                           for d, n in (("a", 1200), ("b", 1000), ("c/d", 300))
                           for i in range(n)], key=lambda k: k.encode())
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: cls.s3.put_object(Bucket="many", Key=k, Body=k.encode()),
                          cls.keys))

    def paginate(self, op, **kwargs):
        keys, prefixes, pages = [], [], 0
        for page in self.s3.get_paginator(op).paginate(Bucket="many", **kwargs):
            pages += 1
            keys += [o["Key"] for o in page.get("Contents", [])]
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return keys, prefixes, pages

    def test_v2_all_pages(self):
        keys, _, pages = self.paginate("list_objects_v2", PaginationConfig={"PageSize": 1000})
        self.assertEqual(keys, self.keys)
        self.assertEqual(pages, 3)

    def test_v1_all_pages_with_marker(self):
        keys, _, pages = self.paginate("list_objects", PaginationConfig={"PageSize": 700})
        self.assertEqual(keys, self.keys)
        self.assertEqual(pages, 4)

    def test_prefix_and_delimiter(self):
        keys, prefixes, _ = self.paginate("list_objects_v2", Delimiter="/")
        self.assertEqual(keys, [])
        self.assertEqual(prefixes, ["a/", "b/", "c/"])
        keys, prefixes, _ = self.paginate("list_objects", Prefix="c/", Delimiter="/")
        self.assertEqual(prefixes, ["c/d/"])
        keys, prefixes, _ = self.paginate("list_objects_v2", Prefix="b/", Delimiter="/",
                                          PaginationConfig={"PageSize": 333})
        self.assertEqual(keys, [k for k in self.keys if k.startswith("b/")])
        self.assertEqual(prefixes, [])

    def test_delimiter_pages_count_prefixes(self):
        r = self.s3.list_objects_v2(Bucket="many", Delimiter="/", MaxKeys=2)
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/", "b/"])
        self.assertTrue(r["IsTruncated"])
        r = self.s3.list_objects_v2(Bucket="many", Delimiter="/", MaxKeys=2,
                                    ContinuationToken=r["NextContinuationToken"])
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["c/"])
        self.assertFalse(r["IsTruncated"])

    def test_start_after_and_max_keys(self):
        r = self.s3.list_objects_v2(Bucket="many", StartAfter="b/0998", MaxKeys=3,
                                    FetchOwner=True)
        self.assertEqual([o["Key"] for o in r["Contents"]], ["b/0999", "c/d/0000 +%", "c/d/0001"])
        self.assertIn("Owner", r["Contents"][0])
        self.assertEqual(r["KeyCount"], 3)

    def test_encoding_type_url(self):
        # botocore asks for encoding-type=url itself and decodes: the original key comes back.
        r = self.s3.list_objects_v2(Bucket="many", Prefix="a/0100")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["a/0100 +%"])
        # Asked for explicitly, the keys stay encoded for the caller.
        r = self.s3.list_objects(Bucket="many", Prefix="c/d/01", Delimiter="/",
                                 EncodingType="url")
        self.assertEqual([o["Key"] for o in r["Contents"]][0], "c/d/0100%20%2B%25")

    def test_encoding_type_url_on_the_wire(self):
        s3v4 = self.dev.client(signature_version="s3v4")
        url = s3v4.generate_presigned_url(
            "list_objects_v2", Params={"Bucket": "many", "Prefix": "a/0100",
                                       "EncodingType": "url"})
        import urllib.request
        body = urllib.request.urlopen(url, timeout=30).read().decode()
        self.assertIn("<Key>a/0100%20%2B%25</Key>", body)
        self.assertIn("<EncodingType>url</EncodingType>", body)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
