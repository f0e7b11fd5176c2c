#!/usr/bin/python3
"""Writes the seed inputs of the fuzz targets into bench/fuzz/corpus/TARGET/seed-*.

Seeds are small valid (and nearly valid) inputs for each parser, so that the fuzzer starts
from the formats' shapes. Regression inputs (crashes found and fixed) sit beside them as
regress-* files and are not touched by this script. Run it again after changing a format.
"""
import base64
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def write(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


AUTH = ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def http_heads():
    write("fuzz_http_head", "get-range",
          "GET /examplebucket/test.txt HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\n"
          "Authorization: " + AUTH + "\r\nRange: bytes=0-9\r\n"
          "x-amz-content-sha256: " + EMPTY + "\r\nx-amz-date: 20130524T000000Z\r\n\r\n")
    write("fuzz_http_head", "presigned",
          "GET /examplebucket/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
          "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="
          "20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
          "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404 HTTP/1.1\r\n"
          "Host: examplebucket.s3.amazonaws.com\r\n\r\n")
    write("fuzz_http_head", "put-copy",
          "PUT /b/dst%20key?partNumber=2&uploadId=abc HTTP/1.1\r\nHost: s3.example.com\r\n"
          "x-amz-copy-source: /src/a%2Fb?versionId=null\r\n"
          "x-amz-copy-source-range: bytes=0-99\r\nx-amz-meta-color: blue\r\n"
          "If-Match: \"d41d8cd98f00b204e9800998ecf8427e\"\r\n"
          "If-Modified-Since: Tue, 02 Jan 2024 03:04:05 GMT\r\n"
          "Content-Type: text/plain\r\nx-amz-tagging: a=b&c=d\r\nContent-Length: 0\r\n\r\n")
    write("fuzz_http_head", "virtual-host",
          "POST /key?uploads HTTP/1.1\r\nHost: bucket.s3.example.com\r\n"
          "Transfer-Encoding: chunked\r\n\r\n")


def header_values():
    for i, v in enumerate([b"bytes=0-9", b"bytes=-5", b"bytes=10-", b"bytes=0-0,5-9"]):
        write("fuzz_s3_headers", "range-%d" % i, b"\x00" + struct.pack(">Q", 1000) + b"\x00" + v)
    write("fuzz_s3_headers", "checksum", b"\x01" + b"AAAAAA==")
    write("fuzz_s3_headers", "sha256", b"\x01" + base64.b64encode(bytes(32)))
    write("fuzz_s3_headers", "percent", b"\x02" + b"a%20b%2Fc+d%7E")
    write("fuzz_s3_headers", "http-date", b"\x03" + b"Tue, 02 Jan 2024 03:04:05 GMT")
    write("fuzz_s3_headers", "amz-date", b"\x03" + b"20130524T000000Z")
    write("fuzz_s3_headers", "tags", b"\x04" + b"a=b&c%20d=e")
    write("fuzz_s3_headers", "copy-source", b"\x05" + b"/bucket/key%20x?versionId=null")
    write("fuzz_s3_headers", "part-number", b"\x06" + b"10000")
    write("fuzz_s3_headers", "attributes",
          b"\x07" + b"x-amz-object-attributes: ETag,Checksum,ObjectParts\nx-amz-max-parts: 5\n")


def sigv4():
    write("fuzz_sigv4", "header",
          "GET\n/test.txt\nhost: examplebucket.s3.amazonaws.com\nauthorization: " + AUTH +
          "\nrange: bytes=0-9\nx-amz-content-sha256: " + EMPTY +
          "\nx-amz-date: 20130524T000000Z\n")
    write("fuzz_sigv4", "streaming",
          "PUT\n/examplebucket/chunkObject.txt\nhost: s3.amazonaws.com\nauthorization: "
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
          "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
          "x-amz-decoded-content-length;x-amz-storage-class,Signature="
          "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9\n"
          "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\ncontent-encoding: aws-chunked\n"
          "x-amz-decoded-content-length: 66560\ncontent-length: 66824\n"
          "x-amz-date: 20130524T000000Z\nx-amz-storage-class: REDUCED_REDUNDANCY\n")
    write("fuzz_sigv4", "presigned",
          "GET\n/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
          "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
          "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
          "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404\n"
          "host: examplebucket.s3.amazonaws.com\n")


def aws_chunked():
    body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
    # selector: unsigned trailer mode (0), crc32 trailer (1 << 2), declared length (0x80).
    write("fuzz_aws_chunked", "unsigned-trailer", bytes([0x84, 7]) + struct.pack(">Q", 5) + body)
    write("fuzz_aws_chunked", "no-trailer", bytes([0x00, 3]) + bytes(8) +
          b"3;ext=1\r\nabc\r\n0\r\n\r\n")
    signed = (b"400;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
              b"\r\n" + b"a" * 1024 + b"\r\n0;chunk-signature="
              b"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
    write("fuzz_aws_chunked", "signed", bytes([0x02, 255]) + bytes(8) + signed)


def xml_bodies():
    write("fuzz_s3_xml", "complete", b"\x00<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
          b"<ETag>\"a54357aff0632cce46d942af68356b38\"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32>"
          b"</Part><Part><PartNumber>2</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>")
    write("fuzz_s3_xml", "delete", b"\x01<?xml version=\"1.0\"?><Delete><Quiet>true</Quiet>"
          b"<Object><Key>a b</Key></Object><Object><Key>&lt;c&gt;</Key><VersionId>null</VersionId>"
          b"</Object></Delete>")
    write("fuzz_s3_xml", "tagging", b"\x02<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          b"<TagSet><Tag><Key>a</Key><Value>b</Value></Tag><Tag><Key>c</Key><Value></Value></Tag>"
          b"</TagSet></Tagging>")
    write("fuzz_s3_xml", "create-bucket", b"\x03<CreateBucketConfiguration xmlns="
          b"\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>eu-west-3"
          b"</LocationConstraint></CreateBucketConfiguration>")
    write("fuzz_s3_xml", "create-bucket-bad-region", b"\x03<CreateBucketConfiguration>"
          b"<LocationConstraint>EU\r\nX-Injected: 1</LocationConstraint></CreateBucketConfiguration>")


def record(chunk_id, tenant, payload, sequence):
    h = bytearray(256)
    struct.pack_into("<IHH", h, 0, 0x5243534D, 1, 1)
    struct.pack_into("<IQQ", h, 12, crc32c(payload), len(payload), sequence)
    h[32], h[33] = len(chunk_id), len(tenant)
    h[40:40 + len(chunk_id)] = chunk_id
    h[104:104 + len(tenant)] = tenant
    crc = crc32c(bytes(h[:8]) + bytes(4) + bytes(h[12:]))
    struct.pack_into("<I", h, 8, crc)
    rec = bytes(h) + payload
    return rec + bytes(-len(rec) % 4096)


def node_segment():
    # Flags 0: as written (valid CRCs already). Sequences after the store's one put.
    write("fuzz_node_segment", "two-records", b"\x00" + record(b"chunk-b", b"tenant", b"x" * 300, 10) +
          record(b"chunk-a", b"tenant", b"y" * 10, 11))
    write("fuzz_node_segment", "torn", b"\x00" + record(b"chunk-c", b"tenant", b"z" * 5000, 10)[:4500])
    write("fuzz_node_segment", "reseal", b"\x03" + record(b"chunk-d", b"other", b"w" * 64, 7))


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, value):
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def manifests():
    stream = b"MOSAICB1S" + b"K" + struct.pack("<I", 3) + b"key" + struct.pack("<I", 5) + \
        b"value" + b"E" + struct.pack("<Q", 1)
    write("fuzz_manifest", "stream-snapshot", b"\x00" + stream)
    write("fuzz_manifest", "stream-increment", b"\x00MOSAICB1I" + b"W" + struct.pack("<QI", 7, 4) +
          b"\x00\x01\x02\x03" + b"E" + struct.pack("<Q", 1))
    stripes = b"".join(field(8, b"".join(field(1, ("node-%d" % i).encode()) for i in range(6)))
                       for _ in range(3))
    manifest = (field(1, 10_000_000) + field(2, 4 << 20) + field(3, 4) + field(4, 2) + field(5, 1) +
                field(6, bytes(73)) + field(7, bytes(16)) + stripes)
    write("fuzz_manifest", "manifest", b"\x01" + struct.pack(">QQ", 5_000_000, 100) + manifest)
    write("fuzz_manifest", "root", b"\x02\x00" + b"\x01" + bytes(24) + b"sealed" + bytes(16))
    part = field(1, 1) + field(2, 100)
    rec = (field(2, b"abc-2") + field(3, 1700000000000) + field(4, field(1, b"content-type") +
           field(2, b"text/plain")) + field(6, part) + field(6, part) + field(7, 200) +
           field(8, field(1, b"CRC32") + field(2, bytes(4)) + field(3, 1)))
    write("fuzz_manifest", "record", b"\x03\x01" + rec)
    write("fuzz_manifest", "shards-intact", b"\x04\x00\x10" + bytes(6))
    write("fuzz_manifest", "shards-damaged", b"\x04\x01\x40\x01\x03\x05\x07\x02\x10" + bytes(16) + b"\x00\x00")


def varstring(b):
    return varint(len(b)) + b


def batch(sequence, count, records):
    """A RocksDB write batch: sequence (fixed64), count (fixed32), then the records."""
    return struct.pack("<QI", sequence, count) + b"".join(records)


def backup_batches():
    put = lambda k, v: b"\x01" + varstring(k) + varstring(v)  # kTypeValue
    delete = lambda k: b"\x00" + varstring(k)  # kTypeDeletion
    noop = b"\x0d"  # kTypeNoop: the marker a transaction's batch starts with
    write("fuzz_backup_batch", "put-delete", batch(7, 2, [put(b"b/bucket", b"\x08\x01"),
                                                         delete(b"o/bucket/key")]))
    write("fuzz_backup_batch", "transaction", batch(42, 2, [noop, put(b"o/bucket/a", b"x" * 40),
                                                           put(b"q/d/1", b"")]))
    write("fuzz_backup_batch", "log-data", batch(3, 1, [b"\x03" + varstring(b"note"),
                                                       put(b"k/AKID", b"secret")]))
    write("fuzz_backup_batch", "wrong-count", batch(9, 3, [put(b"a", b"b")]))
    write("fuzz_backup_batch", "empty", batch(1, 0, []))


def configs():
    for name in ("gateway.toml", "node.toml"):
        with open(os.path.join(ROOT, "deploy", name), "rb") as f:
            text = f.read()
        write("fuzz_config", name, (b"\x00" if name == "gateway.toml" else b"\x01") + text)
    invite = json.dumps({"node_id": "node-1", "provider": "p", "address": "node-1.example.org:7400",
                         "fingerprint": "sha256:" + "ab" * 32, "token": "t0k3n"}).encode()
    write("fuzz_config", "invite",
          b"\x02mosaic-invite-1:" + base64.urlsafe_b64encode(invite).rstrip(b"=") + b"\n")


if __name__ == "__main__":
    http_heads()
    header_values()
    sigv4()
    aws_chunked()
    xml_bodies()
    node_segment()
    manifests()
    backup_batches()
    configs()
