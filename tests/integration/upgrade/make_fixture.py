#!/usr/bin/env python3
"""Makes fixtures/dev-data-1.tar.xz and fixtures/dev-data-1.json: a `mosaic dev` folder written
by the mosaic named by MOSAIC_BINARY (3 providers, the default 4+2), holding the objects
described in the JSON, stopped cleanly, its logs and address files left out, tarred with xz.
upgrade_test.py opens it with every later build (docs/upgrading.md). Made once, on
2026-12-06, by the binary of main at commit 4e313fc; never regenerate an existing fixture: add a
new one (dev-data-2, ...) when a format changes, and keep the old ones.

  MOSAIC_BINARY=build/mosaic /usr/bin/python3 tests/integration/upgrade/make_fixture.py NAME
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "s3"))
import harness  # noqa: E402


def body(n, seed):
    return bytes((seed * 31 + i * 7 + (i >> 8)) % 251 for i in range(n))


OBJECTS = {("archive", "empty"): b"", ("archive", "small.txt"): b"hello from an older mosaic\n",
           ("archive", "dir/medium.bin"): body(100_000, 1),
           ("archive", "dir/sub/odd key \u00e9.bin"): body(4097, 2)}


def write(s3):
    s3.create_bucket(Bucket="archive")
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned",
                             VersioningConfiguration={"Status": "Enabled"})
    for (b, k), v in OBJECTS.items():
        s3.put_object(Bucket=b, Key=k, Body=v, Metadata={"origin": "fixture"})
    s3.put_object(Bucket="archive", Key="deleted", Body=b"gone")
    s3.delete_object(Bucket="archive", Key="deleted")
    versions = []
    for text in (b"version one", b"version two"):
        vid = s3.put_object(Bucket="versioned", Key="doc", Body=text)["VersionId"]
        versions.append({"bucket": "versioned", "key": "doc", "version_id": vid,
                         "sha256": hashlib.sha256(text).hexdigest()})
    return {"objects": [{"bucket": b, "key": k, "size": len(v), "metadata": {"origin": "fixture"},
                         "sha256": hashlib.sha256(v).hexdigest()} for (b, k), v in OBJECTS.items()],
            "versions": versions, "deleted": [{"bucket": "archive", "key": "deleted"}]}


def main(name):
    tmp = tempfile.mkdtemp(prefix="mosaic-fixture-")
    data = os.path.join(tmp, "dev-data")
    os.mkdir(data)
    dev = harness.DevSystem(directory=data, dev_args=["--providers", "3"]).start()
    try:
        description = write(dev.client())
        description["made_by"] = subprocess.run([harness.BINARY, "version"], check=True,
                                                capture_output=True, text=True).stdout.strip()
    finally:
        dev.stop()
    # What a run leaves that is not data: process logs, pid and address files. RocksDB's
    # write-ahead logs (000004.log) are data.
    for root, _, files in os.walk(data):
        for f in files:
            if f in ("dev.env", "dev.json", "dev.out", "node.log", "gateway.log", "LOG") \
                    or f.endswith((".pid", ".addr")) or f.startswith("LOG.old"):
                os.unlink(os.path.join(root, f))
    with tarfile.open(os.path.join(HERE, "fixtures", name + ".tar.xz"), "w:xz") as t:
        t.add(data, arcname="dev-data")
    with open(os.path.join(HERE, "fixtures", name + ".json"), "w") as f:
        json.dump(description, f, indent=1, ensure_ascii=False)
        f.write("\n")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main(sys.argv[1])
