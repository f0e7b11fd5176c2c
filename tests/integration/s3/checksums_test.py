"""S3 checksums end to end (issue 6): x-amz-checksum-* kept with objects and parts, shown
by GetObject/HeadObject (x-amz-checksum-mode: ENABLED) and GetObjectAttributes, multipart
COMPOSITE and FULL_OBJECT checksums, and GET ?partNumber.

boto3 1.26 computes CRC32, SHA1 and SHA256 itself (CRC32C only with awscrt, CRC64NVME not
at all): those two travel as raw headers added before signing, with values computed here.
"""

import base64
import hashlib
import struct
import unittest
import zlib

import harness
from harness import pattern

MiB = 1 << 20


def _reflected_table(poly, width):
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _reflected_table(0x82F63B78, 32)
_CRC64_TABLE = _reflected_table(0x9A6C9329AC4BC9B5, 64)


def _reflected_crc(table, mask, data):
    crc = mask
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ mask


def digest(alg, data):
    """Raw digest of `data` as S3 encodes it (CRCs big-endian)."""
    if alg == "CRC32":
        return struct.pack(">I", zlib.crc32(data))
    if alg == "CRC32C":
        return struct.pack(">I", _reflected_crc(_CRC32C_TABLE, 0xFFFFFFFF, data))
    if alg == "CRC64NVME":
        return struct.pack(">Q", _reflected_crc(_CRC64_TABLE, (1 << 64) - 1, data))
    return hashlib.new(alg.lower(), data).digest()


def b64(raw):
    return base64.b64encode(raw).decode()


def value(alg, data):
    return b64(digest(alg, data))


class ChecksumHelpersTest(unittest.TestCase):
    def test_check_values(self):
        self.assertEqual(digest("CRC32C", b"123456789").hex(), "e3069283")
        self.assertEqual(digest("CRC64NVME", b"123456789").hex(), "ae8b14860a799888")
        self.assertEqual(value("CRC32", b"123456789"), "y/Q5Jg==")


class ChecksumTestCase(harness.DevTestCase):
    BUCKET = "sums"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket=cls.BUCKET)

    def with_headers(self, operation, headers):
        """A client that adds `headers` (signed) to every `operation` request."""
        client = self.dev.client()
        self.addCleanup(client.close)

        def add(request, **_):
            for k, v in headers.items():
                request.headers[k] = v

        client.meta.events.register("before-sign.s3." + operation, add)
        return client

    @staticmethod
    def headers_of(response):
        return response["ResponseMetadata"]["HTTPHeaders"]

    def attributes(self, key, **kwargs):
        return self.s3.get_object_attributes(
            Bucket=self.BUCKET, Key=key,
            ObjectAttributes=["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"],
            **kwargs)


class PutChecksumTest(ChecksumTestCase):
    def test_boto3_algorithms_are_kept_and_returned(self):
        data = pattern(300 * 1024 + 7, 1)
        for alg in ("CRC32", "SHA1", "SHA256"):
            with self.subTest(alg=alg):
                key = "put-" + alg
                put = self.s3.put_object(Bucket=self.BUCKET, Key=key, Body=data,
                                         ChecksumAlgorithm=alg)
                self.assertEqual(put["Checksum" + alg], value(alg, data))
                head = self.s3.head_object(Bucket=self.BUCKET, Key=key, ChecksumMode="ENABLED")
                self.assertEqual(head["Checksum" + alg], value(alg, data))
                self.assertEqual(self.headers_of(head)["x-amz-checksum-type"], "FULL_OBJECT")
                got = self.s3.get_object(Bucket=self.BUCKET, Key=key, ChecksumMode="ENABLED")
                self.assertEqual(got["Checksum" + alg], value(alg, data))
                self.assertEqual(got["Body"].read(), data)  # botocore checks the value too
                # Without the mode, no checksum is shown.
                plain = self.s3.head_object(Bucket=self.BUCKET, Key=key)
                self.assertNotIn("Checksum" + alg, plain)

    def test_raw_header_algorithms(self):
        data = pattern(64 * 1024 + 3, 2)
        for alg in ("CRC32C", "CRC64NVME"):
            with self.subTest(alg=alg):
                key = "raw-" + alg
                header = "x-amz-checksum-" + alg.lower()
                client = self.with_headers("PutObject", {header: value(alg, data)})
                put = client.put_object(Bucket=self.BUCKET, Key=key, Body=data)
                self.assertEqual(self.headers_of(put)[header], value(alg, data))
                head = self.s3.head_object(Bucket=self.BUCKET, Key=key, ChecksumMode="ENABLED")
                self.assertEqual(self.headers_of(head)[header], value(alg, data))
                attrs = self.attributes(key)
                self.assertEqual(attrs["ObjectSize"], len(data))

    def test_wrong_checksum_stores_nothing(self):
        data = b"the real bytes"
        client = self.with_headers("PutObject",
                                   {"x-amz-checksum-sha256": value("SHA256", b"other bytes")})
        self.assertEqual(self.error_code(client.put_object, Bucket=self.BUCKET, Key="bad",
                                         Body=data), ("BadDigest", 400))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket=self.BUCKET,
                                         Key="bad")[1], 404)

    def test_malformed_checksum_is_invalid_request(self):
        client = self.with_headers("PutObject", {"x-amz-checksum-crc32": "not-base64!"})
        self.assertEqual(self.error_code(client.put_object, Bucket=self.BUCKET, Key="malformed",
                                         Body=b"x"), ("InvalidRequest", 400))
        self.assertEqual(self.error_code(self.s3.head_object, Bucket=self.BUCKET,
                                         Key="malformed")[1], 404)

    def test_sdk_algorithm_without_a_value_is_refused(self):
        client = self.with_headers("PutObject", {"x-amz-sdk-checksum-algorithm": "CRC32"})
        self.assertEqual(self.error_code(client.put_object, Bucket=self.BUCKET, Key="novalue",
                                         Body=b"x"), ("InvalidRequest", 400))

    def test_range_gets_no_checksum(self):
        data = pattern(10000, 3)
        self.s3.put_object(Bucket=self.BUCKET, Key="ranged", Body=data, ChecksumAlgorithm="CRC32")
        got = self.s3.get_object(Bucket=self.BUCKET, Key="ranged", Range="bytes=10-99",
                                 ChecksumMode="ENABLED")
        self.assertNotIn("ChecksumCRC32", got)
        self.assertEqual(got["Body"].read(), data[10:100])

    def test_attributes_of_a_plain_object(self):
        data = pattern(5000, 4)
        put = self.s3.put_object(Bucket=self.BUCKET, Key="attrs", Body=data,
                                 ChecksumAlgorithm="SHA256")
        attrs = self.attributes("attrs")
        self.assertEqual(attrs["ETag"], put["ETag"].strip('"'))
        self.assertEqual(attrs["Checksum"]["ChecksumSHA256"], value("SHA256", data))
        self.assertNotIn("ObjectParts", attrs)
        self.assertEqual(attrs["StorageClass"], "STANDARD")
        self.assertEqual(attrs["ObjectSize"], len(data))
        self.assertIn("LastModified", attrs)
        only_size = self.s3.get_object_attributes(Bucket=self.BUCKET, Key="attrs",
                                                  ObjectAttributes=["ObjectSize"])
        self.assertNotIn("ETag", only_size)
        self.assertEqual(only_size["ObjectSize"], len(data))
        self.assertEqual(self.error_code(self.s3.get_object_attributes, Bucket=self.BUCKET,
                                         Key="absent", ObjectAttributes=["ETag"]),
                         ("NoSuchKey", 404))

    def test_part_number_of_a_plain_object(self):
        data = pattern(777, 5)
        self.s3.put_object(Bucket=self.BUCKET, Key="plainpart", Body=data)
        got = self.s3.get_object(Bucket=self.BUCKET, Key="plainpart", PartNumber=1)
        self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(self.error_code(self.s3.get_object, Bucket=self.BUCKET,
                                         Key="plainpart", PartNumber=2)[1], 416)


class MultipartChecksumTest(ChecksumTestCase):
    PART = 5 * MiB

    def upload(self, key, alg, sizes, client=None, send_part_checksums=True):
        """Uploads parts of the given sizes with `alg`; returns (data, parts, completion)."""
        client = client or self.s3
        up = client.create_multipart_upload(Bucket=self.BUCKET, Key=key, ChecksumAlgorithm=alg)
        chunks, parts = [], []
        for n, size in enumerate(sizes, 1):
            chunk = pattern(size, 10 + n)
            kwargs = {"ChecksumAlgorithm": alg} if send_part_checksums else {}
            r = self.s3.upload_part(Bucket=self.BUCKET, Key=key, UploadId=up["UploadId"],
                                    PartNumber=n, Body=chunk, **kwargs)
            if send_part_checksums:
                self.assertEqual(r["Checksum" + alg], value(alg, chunk))
            part = {"PartNumber": n, "ETag": r["ETag"]}
            if send_part_checksums:
                part["Checksum" + alg] = r["Checksum" + alg]
            parts.append(part)
            chunks.append(chunk)
        done = self.s3.complete_multipart_upload(
            Bucket=self.BUCKET, Key=key, UploadId=up["UploadId"],
            MultipartUpload={"Parts": parts})
        return chunks, parts, done

    def test_composite_sha256(self):
        chunks, _, done = self.upload("mp-sha", "SHA256", [self.PART, 1234])
        expected = b64(hashlib.sha256(b"".join(hashlib.sha256(c).digest()
                                               for c in chunks)).digest()) + "-2"
        self.assertEqual(done["ChecksumSHA256"], expected)
        head = self.s3.head_object(Bucket=self.BUCKET, Key="mp-sha", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumSHA256"], expected)
        self.assertEqual(self.headers_of(head)["x-amz-checksum-type"], "COMPOSITE")
        attrs = self.attributes("mp-sha")
        self.assertEqual(attrs["Checksum"]["ChecksumSHA256"], expected.rsplit("-", 1)[0])
        parts = attrs["ObjectParts"]
        self.assertEqual(parts["TotalPartsCount"], 2)
        self.assertFalse(parts["IsTruncated"])
        self.assertEqual([(p["PartNumber"], p["Size"], p["ChecksumSHA256"])
                          for p in parts["Parts"]],
                         [(n, len(c), value("SHA256", c)) for n, c in enumerate(chunks, 1)])
        self.assertEqual(attrs["ObjectSize"], sum(map(len, chunks)))
        self.assertTrue(attrs["ETag"].endswith("-2") and '"' not in attrs["ETag"])
        paged = self.attributes("mp-sha", MaxParts=1, PartNumberMarker=1)
        self.assertEqual([p["PartNumber"] for p in paged["ObjectParts"]["Parts"]], [2])

    def test_part_number_get(self):
        chunks, _, _ = self.upload("mp-parts", "CRC32", [self.PART, 3000])
        got = self.s3.get_object(Bucket=self.BUCKET, Key="mp-parts", PartNumber=2,
                                 ChecksumMode="ENABLED")
        self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(got["PartsCount"], 2)
        self.assertEqual(got["ContentRange"],
                         "bytes %d-%d/%d" % (self.PART, self.PART + 2999, self.PART + 3000))
        self.assertEqual(got["ChecksumCRC32"], value("CRC32", chunks[1]))
        self.assertEqual(got["Body"].read(), chunks[1])
        head = self.s3.head_object(Bucket=self.BUCKET, Key="mp-parts", PartNumber=1)
        self.assertEqual(head["ContentLength"], self.PART)
        self.assertEqual(self.error_code(self.s3.get_object, Bucket=self.BUCKET,
                                         Key="mp-parts", PartNumber=3)[1], 416)
        self.assertEqual(self.error_code(self.s3.get_object, Bucket=self.BUCKET,
                                         Key="mp-parts", PartNumber=1, Range="bytes=0-1"),
                         ("InvalidRequest", 400))

    def test_full_object_crc32(self):
        client = self.with_headers("CreateMultipartUpload",
                                   {"x-amz-checksum-type": "FULL_OBJECT"})
        chunks, _, _ = self.upload("mp-full", "CRC32", [self.PART, self.PART, 999], client)
        whole = b"".join(chunks)
        head = self.s3.head_object(Bucket=self.BUCKET, Key="mp-full", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumCRC32"], value("CRC32", whole))
        self.assertEqual(self.headers_of(head)["x-amz-checksum-type"], "FULL_OBJECT")
        # botocore verifies the whole body against the full-object CRC as it reads it.
        got = self.s3.get_object(Bucket=self.BUCKET, Key="mp-full", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), whole)

    def test_copied_part_gets_its_checksum_computed(self):
        data = pattern(123457, 21)
        self.s3.put_object(Bucket=self.BUCKET, Key="copy-src", Body=data)
        up = self.s3.create_multipart_upload(Bucket=self.BUCKET, Key="mp-copied",
                                             ChecksumAlgorithm="SHA256")
        r = self.s3.upload_part_copy(Bucket=self.BUCKET, Key="mp-copied",
                                     UploadId=up["UploadId"], PartNumber=1,
                                     CopySource={"Bucket": self.BUCKET, "Key": "copy-src"},
                                     CopySourceRange="bytes=100-100099")
        self.s3.complete_multipart_upload(
            Bucket=self.BUCKET, Key="mp-copied", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1,
                                        "ETag": r["CopyPartResult"]["ETag"]}]})
        part = hashlib.sha256(data[100:100100]).digest()
        head = self.s3.head_object(Bucket=self.BUCKET, Key="mp-copied", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumSHA256"], b64(hashlib.sha256(part).digest()) + "-1")
        got = self.s3.get_object(Bucket=self.BUCKET, Key="mp-copied", PartNumber=1,
                                 ChecksumMode="ENABLED")
        self.assertEqual(got["ChecksumSHA256"], b64(part))
        self.assertEqual(got["Body"].read(), data[100:100100])

    def test_listed_part_checksums_are_checked_and_listed(self):
        up = self.s3.create_multipart_upload(Bucket=self.BUCKET, Key="mp-listed",
                                             ChecksumAlgorithm="CRC32")
        chunk = pattern(1000, 5)
        r = self.s3.upload_part(Bucket=self.BUCKET, Key="mp-listed", UploadId=up["UploadId"],
                                PartNumber=1, Body=chunk, ChecksumAlgorithm="CRC32")
        listed = self.s3.list_parts(Bucket=self.BUCKET, Key="mp-listed",
                                    UploadId=up["UploadId"])
        self.assertEqual(listed["Parts"][0]["ChecksumCRC32"], value("CRC32", chunk))
        wrong = value("CRC32", chunk + b"x")
        self.assertEqual(self.error_code(
            self.s3.complete_multipart_upload, Bucket=self.BUCKET, Key="mp-listed",
            UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"],
                                        "ChecksumCRC32": wrong}]}), ("InvalidPart", 400))
        # The refused completion left the upload as it was: the right value completes it.
        done = self.s3.complete_multipart_upload(
            Bucket=self.BUCKET, Key="mp-listed", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"],
                                        "ChecksumCRC32": r["ChecksumCRC32"]}]})
        self.assertTrue(done["ChecksumCRC32"].endswith("-1"))
        self.assertEqual(self.s3.get_object(Bucket=self.BUCKET, Key="mp-listed")["Body"].read(),
                         chunk)

    def test_part_without_the_uploads_checksum_is_refused(self):
        up = self.s3.create_multipart_upload(Bucket=self.BUCKET, Key="mp-missing",
                                             ChecksumAlgorithm="SHA1")
        self.assertEqual(self.error_code(self.s3.upload_part, Bucket=self.BUCKET,
                                         Key="mp-missing", UploadId=up["UploadId"],
                                         PartNumber=1, Body=b"abc"), ("InvalidRequest", 400))
        self.assertEqual(self.error_code(self.s3.upload_part, Bucket=self.BUCKET,
                                         Key="mp-missing", UploadId=up["UploadId"],
                                         PartNumber=1, Body=b"abc", ChecksumAlgorithm="CRC32"),
                         ("InvalidRequest", 400))
        listed = self.s3.list_parts(Bucket=self.BUCKET, Key="mp-missing",
                                    UploadId=up["UploadId"])
        self.assertEqual(listed.get("Parts", []), [])
        self.s3.abort_multipart_upload(Bucket=self.BUCKET, Key="mp-missing",
                                       UploadId=up["UploadId"])


if __name__ == "__main__":
    unittest.main()
