"""Writes that double up a stripe at one provider are logged and counted, and a node added
to the running gateway is in the settings its metadata backup carries (issue 20), with real
nodes: `mosaic dev --providers 5` with 4+2 must put two of every stripe's six shards at
one provider; each such write's first doubled stripe is described in the gateway's log
(object, stripe, provider, nodes) and every doubled stripe counts in
mosaic_gateway_stripes_written_doubled_total. Once a sixth provider is added (`mosaic node
add`, no restart), new writes spread one shard per provider and the counter stays put; and
once the backup covers those writes, `mosaic restore --drill` writes a gateway.toml that lists
the added node, which the gateway's own config file does not.
"""

import glob
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

COUNTER = "mosaic_gateway_stripes_written_doubled_total"
LINE = re.compile(r"object [0-9a-f]{32,} written under-spread: stripe \d+ has 2 shards at provider "
                  r"(provider-[a-e]) \(nodes (provider-[a-e]-1), (provider-[a-e]-1)\); \d+ of its "
                  r"\d+ stripe\(s\) doubled up \(5 usable provider\(s\) for 6 shards a stripe\)")


class DoubledUpWritesAreLogged(harness.DevTestCase):
    dev_args = ("--providers", "5", "--backup-lag", "1s")

    def gateway_log(self):
        paths = glob.glob(os.path.join(self.dev.dir, "**", "gateway.log"), recursive=True)
        self.assertEqual(len(paths), 1, paths)
        with open(paths[0], errors="replace") as f:
            return f.read()

    def put(self, key):
        self.s3.put_object(Bucket="doubled", Key=key, Body=harness.pattern(30 << 10, len(key)))

    def backed_up_since(self, since_ms):
        def covered():
            b = self.dev.status().get("backup")
            return b and b["last_error"] == "" and b["covered_ms"] > since_ms
        harness.poll(covered, 90, 0.2, what="the backup to cover the writes so far")

    def test_doubled_stripes_are_logged_and_counted_until_a_sixth_provider_comes(self):
        # The metadata backup's own objects are written (and counted) too: compare counts.
        self.s3.create_bucket(Bucket="doubled")
        before = self.dev.metrics().get(COUNTER)
        self.assertIsNotNone(before)
        for i in range(3):
            self.put("five/%d" % i)
        self.assertGreaterEqual(self.dev.metrics()[COUNTER], before + 3)
        match = harness.poll(lambda: LINE.search(self.gateway_log()), 10,
                             what="the doubled-up write in the gateway's log")
        self.assertEqual(match.group(2), match.group(1) + "-1")
        self.assertEqual(match.group(3), match.group(1) + "-1")

        new = self.dev.start_node("provider-f-1", "provider-f")
        r = self.dev.mosaic("node", "add", new["id"], "--provider", "provider-f",
                            "--address", new["address"], "--plaintext",
                            "--token-file", os.path.join(self.dev.dir, ".token"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        added_ms = int(time.time() * 1000)
        self.backed_up_since(added_ms)  # no backup begun before the add is still writing
        before = self.dev.metrics()[COUNTER]
        for i in range(3):
            self.put("six/%d" % i)
        self.assertEqual(self.dev.metrics()[COUNTER], before)
        self.check_restore_lists(new["id"], int(time.time() * 1000))

    def check_restore_lists(self, node_id, since_ms):
        config = self.dev.gateway["config"]
        with open(config) as f:
            text = f.read()
        self.assertNotIn('"%s"' % node_id, text)  # added at runtime: in the metadata only
        self.backed_up_since(since_ms)
        key = re.search(r'^key_file = "([^"]+)"', text, re.M).group(1)
        into = os.path.join(tempfile.mkdtemp(dir=self.dev.dir), "restored")
        r = subprocess.run([harness.BINARY, "restore", "--key", key, "--nodes", config,
                            "--into", into, "--drill"], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(into, "gateway.toml")) as f:
            restored = f.read()
        self.assertRegex(restored, r'id = ["\']%s["\']' % re.escape(node_id))
        # The restore was told of the five nodes only (the config file): the backup's settings
        # are what name the sixth.
        self.assertIn("node %s (provider provider-f" % node_id, r.stdout)


if __name__ == "__main__":
    unittest.main()
