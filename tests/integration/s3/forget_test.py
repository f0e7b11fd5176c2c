"""`mosaic node forget ID` (issue 20) against `mosaic dev` (6 providers, 4+2).

A node that is not removed is not forgotten (exit 2); a removed node whose shards cannot be
rebuilt yet (three other nodes stopped) is refused with what would be lost (exit 3); once
they are back and repair has moved its shards, it is forgotten: gone from status, /metrics
and the config file, also after a gateway restart (and from /metrics then).
"""

import json
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

KIB = 1 << 10


class ForgetTest(harness.DevTestCase):
    def node(self, provider):
        return [p for p in self.dev.processes("node") if p["provider"] == provider][0]

    def wait(self, predicate, what):
        return harness.wait_status(self.dev, predicate, what, timeout_s=240)

    def test_forget_a_removed_node(self):
        self.s3.create_bucket(Bucket="forget")
        for i in range(8):
            self.s3.put_object(Bucket="forget", Key="k%d" % i,
                               Body=harness.pattern(30 * KIB + i, i))
        gone = self.node("provider-a")["id"]

        r = self.dev.mosaic("node", "forget", gone)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("remove it first", r.stderr)
        r = self.dev.mosaic("node", "forget", "no-such-node")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

        # Three other nodes stopped: the removed node's shards cannot be rebuilt, so
        # forgetting it would lose those stripes, and it is refused, saying so.
        stopped = [self.node(p) for p in ("provider-b", "provider-c", "provider-d")]
        for p in stopped:
            os.kill(p["pid"], signal.SIGSTOP)
        try:
            self.wait(lambda d: all(harness.nodes_of(d)[p["id"]]["health"] != "up"
                                    for p in stopped), "the stopped nodes to show unreachable")
            r = self.dev.mosaic("node", "remove", gone, "--force")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            r = self.dev.mosaic("node", "forget", gone)
            self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
            self.assertIn("refused to forget " + gone + ": it still holds ", r.stderr)
            self.assertIn("have fewer than k healthy shards elsewhere and would be lost",
                          r.stderr)
            self.assertIn("--force", r.stderr)
            self.assertEqual(r.stdout, "")
        finally:
            for p in stopped:
                os.kill(p["pid"], signal.SIGCONT)

        self.wait(lambda d: d["safety"]["complete"] and harness.nodes_of(d)[gone]["shards"] == 0
                  and d["backlog"]["repair"]["count"] == 0,
                  "repair to move every shard off the removed node")
        r = self.dev.mosaic("node", "forget", gone)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        answer = json.loads(r.stdout)
        self.assertEqual((answer["state"], answer["shards_given_up"]), ("forgotten", 0))
        self.assertIn("node %s forgotten" % gone, r.stderr)
        self.assertIn("deleted the [[node]] entry of " + gone, r.stderr)
        self.assertNotIn(gone, harness.nodes_of(self.dev.status()))
        self.assertNotIn(gone, self.dev.mosaic("status").stdout)
        with open(self.dev.gateway["config"]) as f:
            self.assertNotIn('"%s"' % gone, f.read())
        # Again: nothing left to do, and it says so.
        r = self.dev.mosaic("node", "forget", gone)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("nothing to delete there", r.stderr)

        self.dev.restart_gateway()
        harness.poll(self.dev.alive, 30, what="the restarted gateway")
        self.assertNotIn(gone, harness.nodes_of(self.dev.status()))
        self.assertFalse([s for s in self.dev.metrics() if '"%s"' % gone in s])
        s3 = self.dev.client()
        for i in range(8):
            self.assertEqual(s3.get_object(Bucket="forget", Key="k%d" % i)["Body"].read(),
                             harness.pattern(30 * KIB + i, i))


if __name__ == "__main__":
    unittest.main()
