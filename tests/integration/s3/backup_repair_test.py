"""The metadata backup's own shards are repaired (issue 19), with real nodes.

`mosaic dev --providers 7` (4+2, backup every second): objects are written and backed up;
the node of a provider holding backup shards is destroyed. The backup job rebuilds those
shards on the provider that held none (it says so in its log, and takes no new snapshot for
it). Then the gateway is lost and two more providers with it: with four providers left, every
stripe of the backup still has k shards only because the lost one's were rebuilt, and
`mosaic restore` recovers every object and key.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

REBUILT = re.compile(r"metadata backup: ([1-9][0-9]*) shards on lost nodes rebuilt elsewhere, "
                     r"0 not")
FORCED = "taking a new snapshot"
OBJECTS = 30


def counted(output, label):
    m = re.search(r"^\s*%s:\s+([0-9]+)" % label, output, re.M)
    return int(m.group(1)) if m else None


class BackupRepairTest(harness.DevTestCase):
    dev_args = ("--providers", "7", "--backup-lag", "1s", "--node-down-after", "3s")

    def gateway_log(self):
        with open(os.path.join(self.dev.gateway["dir"], "gateway.log"), errors="replace") as f:
            return f.read()

    def backed_up_after(self, since_ms):
        def done():
            b = self.dev.status().get("backup")
            return b and b["last_error"] == "" and b["covered_ms"] > since_ms
        harness.poll(done, 120, 0.5, what="the backup to cover every write")

    def test_restore_after_the_backup_was_repaired(self):
        self.s3.create_bucket(Bucket="kept")
        for i in range(OBJECTS):
            self.s3.put_object(Bucket="kept", Key="k%02d" % i,
                               Body=harness.pattern(2000 + i * 31, i))
        self.backed_up_after(int(time.time() * 1000))

        # A provider holding a shard of the backup's first stripe (restore --dry run names it).
        key = os.path.join(self.dev.dir, "master.key")
        nodes = self.dev.gateway["config"]  # a gateway config serves as the node list
        work = tempfile.mkdtemp(prefix="mosaic-backup-repair-")
        self.addCleanup(shutil.rmtree, work, True)
        # A drill: the gateway keeps running, so the nodes must not be fenced (a restore that
        # takes over would refuse every later backup write of this gateway).
        probe = self.restore(key, nodes, os.path.join(work, "probe"), "--drill")
        self.assertIn("not fenced (--drill)", probe.stdout)
        self.assertEqual(probe.returncode, 0, probe.stdout + probe.stderr)
        victim_id = re.search(r"first stripe on: (\S+)", probe.stdout).group(1)
        victim = [p for p in self.dev.processes("node") if p["id"] == victim_id][0]
        self.assertNotIn(FORCED, self.gateway_log())

        self.dev.kill_node(victim, destroy=True)
        harness.poll(lambda: REBUILT.search(self.gateway_log()), 180, 0.5,
                     what="the backup's shards on %s to be rebuilt" % victim_id)
        self.assertNotIn(FORCED, self.gateway_log())
        self.backed_up_after(int(time.time() * 1000))

        # The gateway is lost, and two more providers: any two, since every stripe of the
        # backup now has one shard at each of the six providers left.
        gw = self.dev.gateway
        os.kill(gw["pid"], signal.SIGKILL)
        harness.poll(lambda: not harness.process_running(gw["pid"]), 30, what="gateway death")
        others = [p for p in self.dev.processes("node") if p["id"] != victim_id][:2]
        for n in others:
            self.dev.kill_node(n, destroy=True)
        out = self.restore(key, nodes, os.path.join(work, "restored"))
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertEqual(counted(out.stdout, "objects"), OBJECTS, out.stdout)
        self.assertEqual(counted(out.stdout, "buckets"), 1, out.stdout)

    def restore(self, key, nodes, into, *more):
        return subprocess.run([harness.BINARY, "restore", "--key", key, "--nodes", nodes,
                               "--into", into, *more], capture_output=True, text=True,
                              timeout=300)


if __name__ == "__main__":
    unittest.main()
