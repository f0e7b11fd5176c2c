"""`mosaic key rotate-master` against `mosaic dev` (issue 19): rotate, kill mid-way, resume.

Objects and an extra access key are written and backed up; the gateway is stopped; the
rotation to a new key file is killed (SIGKILL) after its first committed batch of data keys;
a gateway refuses to start during the half-done rotation; running the command again finishes
it; the old key is then refused with a message naming the new one; a gateway with the new key
serves every object byte-identical and the extra key works; `mosaic restore` with the new key
rebuilds everything from the nodes (and a gateway serves it), while the old key finds no
backup any more.
Run with /usr/bin/python3 (Debian's python3-boto3).
"""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from backup_test import GatewaysTestCase, counted, restore, status_backup  # noqa: E402

OBJECTS = 300  # each its own piece: the rotation at --batch 1 takes hundreds of commits
BUCKET = "rotate"


def body(i):
    return harness.pattern(200 + i * 13, i)


def config_with(source, data_dir, key_file):
    """The dev gateway's config on `data_dir` (any port) with `key_file`."""
    with open(source) as f:
        text = f.read()
    text = re.sub(r'^data_dir = ".*"$', 'data_dir = "%s"' % data_dir, text, count=1, flags=re.M)
    text = re.sub(r'^listen = ".*"$', 'listen = "127.0.0.1:0"', text, count=1, flags=re.M)
    text = re.sub(r'^key_file = ".*"$', 'key_file = "%s"' % key_file, text, count=1, flags=re.M)
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.abspath(os.path.join(data_dir, "..", os.path.basename(data_dir) + ".toml"))
    with open(path, "w") as f:
        f.write(text)
    return path


def start_fails(config):
    """Runs a gateway that must refuse to start; returns its output."""
    out = subprocess.run([harness.BINARY, "gateway", "--config", config], capture_output=True,
                         text=True, timeout=120)
    return out.returncode, out.stdout + out.stderr


class RotateMasterTest(GatewaysTestCase):
    work_prefix = "mosaic-rotate-it-"

    def rotate(self, config, new_key, kill_after_batches=None):
        """Runs rotate-master at --batch 1; kills it after that many batches if asked.
        Returns (exit code, output)."""
        p = subprocess.Popen([harness.BINARY, "key", "rotate-master", "--config", config,
                              "--new", new_key, "--batch", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines, batches = [], 0
        deadline = time.monotonic() + 300
        for line in p.stdout:
            lines.append(line)
            batches += line.startswith("rotate-master: data keys:")
            if kill_after_batches is not None and batches >= kill_after_batches:
                p.send_signal(signal.SIGKILL)
                break
            self.assertLess(time.monotonic(), deadline, "rotate-master runs too long")
        p.wait(timeout=300)
        p.stdout.close()
        return p.returncode, "".join(lines)

    def check_objects(self, endpoint, extra_key):
        s3 = self.client_for(endpoint)
        for i in range(OBJECTS):
            got = s3.get_object(Bucket=BUCKET, Key="o/%04d" % i)["Body"].read()
            self.assertEqual(got, body(i), "object %d" % i)
        reader = self.client_for(endpoint, *extra_key)
        self.assertEqual(reader.get_object(Bucket=BUCKET, Key="o/0001")["Body"].read(), body(1))

    def test_rotate_kill_resume_restore(self):
        gw = self.dev.gateway
        old_key = os.path.join(self.dev.dir, "master.key")
        self.s3.create_bucket(Bucket=BUCKET)
        for i in range(OBJECTS):
            self.s3.put_object(Bucket=BUCKET, Key="o/%04d" % i, Body=body(i))
        extra_key = self.dev.create_key("rotate-reader", [(BUCKET, "read")])
        since = int(time.time() * 1000)
        harness.poll(lambda: (status_backup(gw["config"]) or {}).get("covered_ms", 0) > since,
                     60, 0.2, what="the backup to cover every write")
        os.kill(gw["pid"], signal.SIGTERM)
        harness.poll(lambda: not harness.process_running(gw["pid"]), 60, what="gateway stop")

        new_key = os.path.join(self.work, "new.key")
        subprocess.run([harness.BINARY, "keygen", "--out", new_key], check=True,
                       capture_output=True, timeout=60)
        code, out = self.rotate(gw["config"], new_key, kill_after_batches=1)
        self.assertEqual(code, -signal.SIGKILL, out)
        self.assertIn("starting the rotation", out)

        # Half-rotated: neither key starts a gateway.
        new_config = config_with(gw["config"], gw["dir"], new_key)
        for config in (gw["config"], new_config):
            code, out = start_fails(config)
            self.assertNotEqual(code, 0, out)
            self.assertIn("rotation from key", out)
            self.assertIn("is unfinished", out)

        code, out = self.rotate(gw["config"], new_key)
        self.assertEqual(code, 0, out)
        self.assertIn("continuing the rotation", out)
        self.assertIn("the metadata is under master key", out)
        self.assertRegex(out, r"metadata backup under the new key: generation \d+ \(2 of 2\)")
        self.assertIn("set key_file", out)

        code, out = start_fails(gw["config"])
        self.assertNotEqual(code, 0, out)
        self.assertRegex(out, r"master key [0-9a-f]{16} was retired: this gateway's metadata was "
                              r"rotated to key [0-9a-f]{16}")

        g = self.start_gateway(new_config, gw["dir"])
        self.check_objects(g.endpoint, extra_key)
        g.stop()

        into = os.path.join(self.work, "restored")
        out = restore(new_key, gw["config"], into)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertEqual(counted(out.stdout, "objects"), OBJECTS, out.stdout)
        self.assertEqual(counted(out.stdout, "access keys"), 2, out.stdout)
        self.assertIn("0 missing, 0 not verified", out.stdout)
        restored = self.start_gateway(config_with(gw["config"], into, new_key), into)
        self.check_objects(restored.endpoint, extra_key)

        out = restore(old_key, gw["config"], os.path.join(self.work, "with-old-key"))
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("no backup found for this key", out.stderr)

    def test_restore_names_an_unreadable_key_file(self):
        """The key copy owned by root, restore run as another user: the message says whose the
        file is, its mode, who runs, and the fix (issue 20)."""
        key = os.path.join(self.work, "root-only.key")
        subprocess.run([harness.BINARY, "keygen", "--out", key], check=True,
                       capture_output=True, timeout=60)
        os.chmod(self.work, 0o755)
        out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              harness.BINARY, "restore", "--key", key, "--nodes",
                              self.dev.gateway["config"], "--into",
                              os.path.join(self.work, "never")],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)
        self.assertIn("cannot read the key file %s: it belongs to uid 0 (root) with mode 0600, "
                      "and this runs as uid 65534" % key, out.stderr)
        self.assertIn("sudo install -o USER -m 0600", out.stderr)
        os.chmod(key, 0o644)
        out = subprocess.run([harness.BINARY, "restore", "--key", key, "--nodes",
                              self.dev.gateway["config"], "--into",
                              os.path.join(self.work, "never")],
                             capture_output=True, text=True, timeout=120)
        self.assertIn("warning: the key file %s has mode 0644" % key, out.stderr)


if __name__ == "__main__":
    unittest.main()
