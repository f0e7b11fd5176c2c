// The AWS SDK for JavaScript v3 (@aws-sdk/client-s3 and @aws-sdk/lib-storage, default
// settings of the newest release) against a Mosaic gateway. Run by
// tests/integration/s3/tools_test.py; by hand:
//
//   AWS_ENDPOINT_URL=http://127.0.0.1:PORT AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
//   MOSAIC_TEST_BUCKET=js node tests/integration/js/sdk_test.mjs
//
// The bucket must exist. Exits 0 when every check passes; otherwise prints what differed and
// exits 1. Retries are off so that a gateway error is not hidden by a second attempt.

import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import * as zlib from "node:zlib";

import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

const MiB = 1 << 20;

function env(name) {
  const value = process.env[name];
  if (!value) fail(`environment variable ${name} is not set`);
  return value;
}

function fail(message) {
  console.error(`sdk_test: FAIL: ${message}`);
  process.exit(1);
}

function check(condition, message) {
  if (!condition) fail(message);
}

function sha256(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

// CRC32 (ISO-HDLC, zlib's): zlib.crc32 where Node has it (20.15 on), else written out.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  if (typeof zlib.crc32 === "function") return zlib.crc32(bytes) >>> 0;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// The CRC32 as S3's x-amz-checksum-crc32 carries it: 4 big-endian bytes (base64 below).
function crc32Raw(bytes) {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(bytes));
  return out;
}

function crc32Base64(bytes) {
  return crc32Raw(bytes).toString("base64");
}

// A multipart object's composite checksum: the CRC32 of the parts' binary CRC32s, "-N".
function compositeCrc32(bytes, partSize) {
  const sums = [];
  for (let at = 0; at < bytes.length; at += partSize) {
    sums.push(crc32Raw(bytes.subarray(at, at + partSize)));
  }
  return `${crc32Base64(Buffer.concat(sums))}-${sums.length}`;
}

async function readAll(body) {
  const chunks = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const bucket = env("MOSAIC_TEST_BUCKET");
const client = new S3Client({
  endpoint: env("AWS_ENDPOINT_URL"),
  region: process.env.AWS_DEFAULT_REGION || "us-east-1",
  credentials: {
    accessKeyId: env("AWS_ACCESS_KEY_ID"),
    secretAccessKey: env("AWS_SECRET_ACCESS_KEY"),
  },
  forcePathStyle: true,
  maxAttempts: 1,
});

async function getChecked(key, expected, what) {
  const got = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }),
  );
  const bytes = await readAll(got.Body);
  check(bytes.length === expected.length,
    `${what}: read back ${bytes.length} bytes, wrote ${expected.length}`);
  check(sha256(bytes) === sha256(expected), `${what}: SHA-256 of the bytes read back differs`);
  return got;
}

// PutObject of a Buffer: the SDK sends x-amz-checksum-crc32 as a header.
async function smallBufferPut() {
  const key = "small/buffer.bin";
  const body = randomBytes(100_000);
  const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  check(put.ChecksumCRC32 === crc32Base64(body),
    `PutObject (buffer) answered ChecksumCRC32 ${put.ChecksumCRC32}, want ${crc32Base64(body)}`);
  const got = await getChecked(key, body, "GetObject (buffer)");
  check(got.ChecksumCRC32 === crc32Base64(body),
    `GetObject with ChecksumMode ENABLED returned ChecksumCRC32 ${got.ChecksumCRC32}, ` +
    `want the stored ${crc32Base64(body)}`);
  console.log("ok: PutObject of a buffer (CRC32 header) and GetObject with its checksum");
}

// PutObject of a stream: the SDK sends aws-chunked with an x-amz-checksum-crc32 trailer
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) over HTTP chunked transfer encoding.
async function smallStreamPut() {
  const key = "small/stream.bin";
  const body = randomBytes(300_001);
  const stream = Readable.from([body.subarray(0, 70_000), body.subarray(70_000)]);
  const put = await client.send(new PutObjectCommand({
    Bucket: bucket, Key: key, Body: stream, ContentLength: body.length,
  }));
  check(put.ChecksumCRC32 === crc32Base64(body),
    `PutObject (stream) answered ChecksumCRC32 ${put.ChecksumCRC32}, want ${crc32Base64(body)}`);
  const head = await client.send(
    new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }),
  );
  check(head.ContentLength === body.length,
    `HeadObject ContentLength ${head.ContentLength}, want ${body.length}`);
  check(head.ChecksumCRC32 === crc32Base64(body),
    `HeadObject with ChecksumMode ENABLED returned ChecksumCRC32 ${head.ChecksumCRC32}, ` +
    `want the trailer's ${crc32Base64(body)}`);
  await getChecked(key, body, "GetObject (stream)");
  console.log("ok: PutObject of a stream (aws-chunked, CRC32 trailer) and HeadObject/GetObject");
}

// lib-storage's Upload: CreateMultipartUpload with ChecksumAlgorithm CRC32, 4 parts in
// flight, each UploadPart with its CRC32, CompleteMultipartUpload listing the parts' CRC32s.
async function multipartUpload() {
  const key = "multipart/40MiB.bin";
  const partSize = 8 * MiB;
  const body = randomBytes(40 * MiB + 123_457);
  const parts = Math.ceil(body.length / partSize);
  const tags = [{ Key: "made-by", Value: "lib-storage" }, { Key: "size", Value: "40 MiB" }];
  const upload = new Upload({
    client, params: { Bucket: bucket, Key: key, Body: body }, partSize, tags,
  });
  const done = await upload.done();
  check(typeof done.ETag === "string" && done.ETag.endsWith(`-${parts}"`),
    `CompleteMultipartUpload ETag ${done.ETag} does not end in -${parts}`);
  const got = await getChecked(key, body, "GetObject of the multipart upload");
  check(got.ETag === done.ETag, `GetObject ETag ${got.ETag}, upload's ${done.ETag}`);
  const want = compositeCrc32(body, partSize);
  check(got.ChecksumCRC32 === want,
    `GetObject with ChecksumMode ENABLED returned ChecksumCRC32 ${got.ChecksumCRC32}, ` +
    `want the composite ${want}`);
  const tagging = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  const sorted = (t) => JSON.stringify([...t].map((x) => [x.Key, x.Value]).sort());
  check(sorted(tagging.TagSet ?? []) === sorted(tags),
    `GetObjectTagging returned ${sorted(tagging.TagSet ?? [])}, Upload set ${sorted(tags)}`);
  console.log(`ok: lib-storage Upload of ${body.length} bytes, ${parts} parts, tagged, read back`);
  return body;
}

// CopyObject of the multipart object, read back.
async function copyObject(body) {
  const copied = await client.send(new CopyObjectCommand({
    Bucket: bucket, Key: "copies/40MiB.bin", CopySource: `${bucket}/multipart/40MiB.bin`,
  }));
  check(typeof copied.CopyObjectResult?.ETag === "string",
    "CopyObject answered no CopyObjectResult ETag");
  await getChecked("copies/40MiB.bin", body, "GetObject of the copy");
  console.log("ok: CopyObject of the multipart object, read back");
}

// DeleteObjects: the newest SDK sends a CRC32 of the XML body (no Content-MD5).
async function deleteAll() {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
  const want = ["copies/40MiB.bin", "multipart/40MiB.bin", "small/buffer.bin",
    "small/stream.bin"];
  check(JSON.stringify(keys) === JSON.stringify(want), `ListObjectsV2 listed ${keys}`);
  const deleted = await client.send(new DeleteObjectsCommand({
    Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) },
  }));
  check((deleted.Errors ?? []).length === 0,
    `DeleteObjects errors: ${JSON.stringify(deleted.Errors)}`);
  const gone = (deleted.Deleted ?? []).map((d) => d.Key).sort();
  check(JSON.stringify(gone) === JSON.stringify(want), `DeleteObjects deleted ${gone}`);
  const after = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  check((after.KeyCount ?? 0) === 0, `${after.KeyCount} objects left after DeleteObjects`);
  console.log("ok: DeleteObjects of every key, bucket listed empty");
}

try {
  await smallBufferPut();
  await smallStreamPut();
  const body = await multipartUpload();
  await copyObject(body);
  await deleteAll();
} catch (e) {
  fail(`${e.name}: ${e.message} (HTTP ${e.$metadata?.httpStatusCode ?? "-"})`);
}
console.log("sdk_test: all checks passed");
