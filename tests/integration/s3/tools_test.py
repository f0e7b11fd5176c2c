"""Real backup tools and SDKs against `mosaic dev` (issue 6): the newest AWS SDK for
JavaScript (client-s3 and lib-storage's multipart Upload), restic, rclone and awscli, each on
trees large enough that they use multipart uploads, each read back and compared byte for
byte."""

import filecmp
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

import harness

MiB = 1 << 20
HERE = os.path.dirname(os.path.abspath(__file__))
JS_DIR = os.path.normpath(os.path.join(HERE, "..", "js"))
NODE = "/usr/bin/node"


def run(cmd, env=None, timeout=300, check=True, **kwargs):
    """Runs a tool with a bound on its time; on failure raises with its output's tail."""
    r = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout, **kwargs)
    if check and r.returncode != 0:
        tail = lambda b: b[-4000:].decode(errors="replace")
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(cmd[:3]), r.returncode,
                                                           tail(r.stdout), tail(r.stderr)))
    return r


def write_file(path, size, rng):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(rng.randbytes(size))


def tree_files(root):
    """{relative path: size} of every regular file under root."""
    out = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            out[os.path.relpath(path, root)] = os.path.getsize(path)
    return out


class TreeCase(harness.DevTestCase):
    def assertSameTree(self, want_root, got_root):
        """Both trees hold the same relative paths with the same bytes."""
        want, got = tree_files(want_root), tree_files(got_root)
        self.assertEqual(sorted(got), sorted(want), "file sets differ")
        for rel in want:
            self.assertTrue(filecmp.cmp(os.path.join(want_root, rel), os.path.join(got_root, rel),
                                        shallow=False), "%s differs" % rel)

    def listing(self, bucket, prefix=""):
        """{key: size} of the bucket's objects under prefix, through ListObjectsV2."""
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                       Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"]] = o["Size"]
        return out


class JavaScriptSdkTest(TreeCase):
    """tests/integration/js/sdk_test.mjs: PutObject with the SDK's default CRC32 (header and
    aws-chunked trailer), checksums read back with ChecksumMode, lib-storage's Upload of
    ~40 MiB in 8 MiB parts with tags read back and compared by SHA-256, CopyObject, and
    DeleteObjects (which the newest SDK sends with a CRC32 instead of Content-MD5)."""

    def test_sdk_v3_put_get_and_lib_storage_upload(self):
        if not os.access(NODE, os.X_OK):
            self.skipTest("%s is missing (deploy/install-deps.sh installs nodejs)" % NODE)
        if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "@aws-sdk", "lib-storage")):
            self.skipTest("%s/node_modules is missing: run npm ci --prefix %s (deploy/test.sh "
                          "does)" % (JS_DIR, JS_DIR))
        self.s3.create_bucket(Bucket="jssdk")
        env = self.dev.tool_env()
        env.update({"MOSAIC_TEST_BUCKET": "jssdk", "HOME": tempfile.gettempdir(),
                    "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
        r = run([NODE, os.path.join(JS_DIR, "sdk_test.mjs")], env=env, timeout=240, check=False)
        out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("sdk_test: all checks passed", out)
        self.assertEqual(self.listing("jssdk"), {})  # the script's DeleteObjects
        ops = {k.split('"')[1] for k, v in self.dev.metrics().items()
               if k.startswith("mosaic_gateway_requests_total{") and '"200"' in k and v > 0}
        for op in ("UploadPart", "CompleteMultipartUpload", "CopyObject", "DeleteObjects",
                   "GetObjectTagging"):
            self.assertIn(op, ops)


class ResticTest(TreeCase):
    """restic (Debian's 0.14): init, backup of 2,000 files, a second backup after
    changes, forget --prune of the first, check --read-data, restore, compare; the bucket
    stays unversioned (its objects all version "null", no delete markers).
    restic sends each pack (up to 16 MiB by default) as one PutObject with Content-MD5, and
    removes its lock files with DeleteObject; its multipart threshold (200 MiB parts) is
    above the largest pack it can make (128 MiB), so it never uses multipart."""

    def test_backup_check_restore(self):
        self.assertTrue(os.access("/usr/bin/restic", os.X_OK),
                        "Debian's restic is not installed (deploy/install-deps.sh)")
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, "src"), os.path.join(tmp, "restored")
            rng = random.Random(6)
            for i in range(2000):
                # Mostly 0-24 KiB, a few of 1-8 MiB; 5 levels of folders.
                size = rng.randrange(1 * MiB, 8 * MiB + 1) if i % 400 == 7 else \
                    rng.randrange(0, 24 << 10)
                write_file(os.path.join(src, "d%d" % (i % 5), "s%02d" % (i % 37),
                                        "f%04d.bin" % i), size, rng)
            host, port = self.dev.host_port
            repo = "s3:http://%s:%d/restic/repo" % (host, port)
            env = self.dev.tool_env()
            env.update({"RESTIC_PASSWORD": "correct horse battery staple", "HOME": tmp,
                        "RESTIC_CACHE_DIR": os.path.join(tmp, "cache")})
            restic = ["/usr/bin/restic", "-r", repo, "-o", "s3.region=us-east-1",
                      "--quiet"]
            run(restic + ["init"], env=env, timeout=120)
            run(restic + ["backup", "--host", "it", src], env=env, timeout=300)
            # A second snapshot after changes, then prune the first: packs that only it
            # used are deleted (DeleteObject), others repacked.
            names = sorted(tree_files(src))
            for rel in names[:300]:
                os.unlink(os.path.join(src, rel))
            for rel in names[300:310]:
                write_file(os.path.join(src, rel), 3 * MiB + 1, rng)
            run(restic + ["backup", "--host", "it", src], env=env, timeout=300)
            run(restic + ["forget", "--keep-last", "1", "--prune"], env=env, timeout=300)
            run(restic + ["check", "--read-data"], env=env, timeout=300)
            run(restic + ["restore", "latest", "--target", out], env=env, timeout=300)
            # restic restores the absolute path under the target.
            self.assertSameTree(src, os.path.join(out, src.lstrip("/")))
            snapshots = json.loads(run(restic + ["snapshots", "--json"], env=env,
                                       timeout=60).stdout)
            self.assertEqual([s["hostname"] for s in snapshots], ["it"])
        self.assertTrue(any(k.startswith("repo/data/") for k in self.listing("restic", "repo/")))
        # Unchanged by versioning (issue 16): the bucket stays unversioned, every object is
        # version "null", and the prune's deletes removed objects instead of writing markers.
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket="restic"))
        versions, markers = [], []
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket="restic"):
            versions += page.get("Versions", [])
            markers += page.get("DeleteMarkers", [])
        self.assertEqual(markers, [])
        self.assertEqual({v["VersionId"] for v in versions}, {"null"})
        self.assertEqual(sorted(v["Key"] for v in versions), sorted(self.listing("restic", "")))


class RcloneTest(TreeCase):
    """rclone: copy with 8 MiB multipart cutoff and chunks, check, sync back, compare; then a
    server-side copy of the tree (CopyObject, and UploadPartCopy above an 8 MiB cutoff)."""

    def test_multipart_copy_check_sync_back(self):
        self.s3.create_bucket(Bucket="rclone")
        env = self.dev.tool_env()
        env.update({"RCLONE_CONFIG_MOSAIC_TYPE": "s3", "RCLONE_CONFIG_MOSAIC_PROVIDER": "Other",
                    "RCLONE_CONFIG_MOSAIC_ENDPOINT": self.dev.endpoint,
                    "RCLONE_CONFIG_MOSAIC_ACCESS_KEY_ID": self.dev.env["AWS_ACCESS_KEY_ID"],
                    "RCLONE_CONFIG_MOSAIC_SECRET_ACCESS_KEY":
                        self.dev.env["AWS_SECRET_ACCESS_KEY"],
                    "RCLONE_CONFIG_MOSAIC_REGION": "us-east-1", "RCLONE_CONFIG": "/dev/null"})
        flags = ["--s3-upload-cutoff", "8M", "--s3-chunk-size", "8M", "--transfers", "4",
                 "--checkers", "8", "--retries", "1", "--low-level-retries", "1"]
        with tempfile.TemporaryDirectory() as src, tempfile.TemporaryDirectory() as back:
            rng = random.Random(7)
            for i in range(3):
                write_file(os.path.join(src, "big", "b%d.bin" % i), 20 * MiB + i * 4099, rng)
            write_file(os.path.join(src, "big", "exactly-8M.bin"), 8 * MiB, rng)
            for i in range(40):
                write_file(os.path.join(src, "small", "s %02d.bin" % i), i * 997, rng)
            run(["rclone", "copy", src, "mosaic:rclone/tree"] + flags, env=env)
            run(["rclone", "check", src, "mosaic:rclone/tree"] + flags, env=env)
            # The multipart objects' ETags are "md5-of-md5s-N": rclone checks them against
            # the MD5 it stored in the metadata; --download compares the bytes themselves.
            run(["rclone", "check", "--download", src, "mosaic:rclone/tree"] + flags, env=env)
            run(["rclone", "sync", "mosaic:rclone/tree", back] + flags, env=env)
            self.assertSameTree(src, back)
            # Server-side copies: CopyObject below the copy cutoff, UploadPartCopy (8 MiB
            # ranges of the source) above it.
            run(["rclone", "copy", "--s3-copy-cutoff", "8M", "mosaic:rclone/tree",
                 "mosaic:rclone/copied"] + flags, env=env)
            run(["rclone", "check", "--download", src, "mosaic:rclone/copied"] + flags, env=env)
            want = {"tree/" + k: v for k, v in tree_files(src).items()}
            want.update({"copied/" + k: v for k, v in tree_files(src).items()})
        self.assertEqual(self.listing("rclone"), want)
        for key in ("tree/big/b0.bin", "copied/big/b0.bin"):
            head = self.s3.head_object(Bucket="rclone", Key=key)
            self.assertTrue(head["ETag"].endswith('-3"'), (key, head["ETag"]))


class AwsCliTest(TreeCase):
    """Debian's awscli (2.9): s3 sync up and down, a server-side recursive copy, then sync
    --delete after local changes."""

    def test_sync_up_down_and_delete(self):
        if not os.access("/usr/bin/aws", os.X_OK):
            self.skipTest("Debian's awscli is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "config")
            with open(cfg, "w") as f:  # the defaults, said out loud: 8 MiB threshold and parts
                f.write("[default]\ns3 =\n  multipart_threshold = 8MB\n"
                        "  multipart_chunksize = 8MB\n  max_concurrent_requests = 10\n")
            env = self.dev.tool_env()
            env.update({"AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                        "AWS_PAGER": "", "HOME": tmp})
            aws = ["/usr/bin/aws", "--endpoint-url", self.dev.endpoint, "s3"]
            quiet = ["--only-show-errors"]
            src, down = os.path.join(tmp, "src"), os.path.join(tmp, "down")
            rng = random.Random(8)
            for i in range(200):
                size = 9 * MiB + i * 1001 if i % 50 == 3 else rng.randrange(0, 40 << 10)
                nested = os.path.join(src, "a%d" % (i % 4), "b%d" % (i % 3), "c" * (i % 2))
                write_file(os.path.join(nested, "file-%03d.dat" % i), size, rng)
            run(aws + ["mb", "s3://awscli"], env=env)
            run(aws + ["sync", src, "s3://awscli/tree"] + quiet, env=env)
            run(aws + ["sync", "s3://awscli/tree", down] + quiet, env=env)
            self.assertSameTree(src, down)
            # Server-side: CopyObject, and UploadPartCopy for objects over 8 MiB.
            run(aws + ["cp", "--recursive", "s3://awscli/tree", "s3://awscli/copy"] + quiet,
                env=env)
            for key in ("tree/a3/b0/c/file-003.dat", "copy/a3/b0/c/file-003.dat"):
                big = self.s3.head_object(Bucket="awscli", Key=key)
                self.assertEqual(big["ContentLength"], 9 * MiB + 3 * 1001)
                self.assertTrue(big["ETag"].endswith('-2"'), big["ETag"])  # 8 MiB + the rest
            copied = os.path.join(tmp, "copied")
            run(aws + ["sync", "s3://awscli/copy", copied] + quiet, env=env)
            self.assertSameTree(src, copied)

            # Change, grow into multipart, add and delete, then sync with --delete.
            files = sorted(tree_files(src))
            for rel in files[:10]:
                os.unlink(os.path.join(src, rel))
            for rel in files[10:15]:
                write_file(os.path.join(src, rel), 12 * MiB + 7, rng)
            for rel in files[15:20]:
                write_file(os.path.join(src, rel), 777, rng)
            write_file(os.path.join(src, "new", "deep", "added.dat"), 5000, rng)
            run(aws + ["sync", "--delete", src, "s3://awscli/tree"] + quiet, env=env)
            want = {"tree/" + k: v for k, v in tree_files(src).items()}
            self.assertEqual(self.listing("awscli", "tree/"), want)
            run(aws + ["sync", "--delete", "s3://awscli/tree", down] + quiet, env=env)
            self.assertSameTree(src, down)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
