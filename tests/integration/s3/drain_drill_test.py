"""The drain drill of issue 19 ("Truthful status and safe operator actions"), with real nodes.

4+2 and one node per provider, so every stripe has one shard at each of six providers:

- 6 providers: one node is killed; as soon as status shows it unreachable, draining another
  is refused (exit 3, the tolerance before and after on stderr). With --force it proceeds:
  five providers are left for six shards, so shards double up, and status says so truthfully
  at every step (never more than 1 provider loss survived; 0 while the killed node's shard
  is missing and another provider holds two; 1 once all is repaired), every stripe is
  under-spread, and every object still reads after losing one more provider.
- 7 providers: the same kill and drain; the refused drain leaves the spare provider free, so
  the killed node's shards are repaired onto it: status says 2 provider losses again, and
  every object reads after losing one more provider.

Waits are bounded (harness.poll); node_down_after is short (3 s) so repair starts quickly.
"""

import hashlib
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

KIB = 1 << 10
MIB = 1 << 20


class DrillBase:
    """The steps both drills share (mixed into harness.DevTestCase)."""

    def upload(self, bucket):
        self.s3.create_bucket(Bucket=bucket)
        digests = {}
        sizes = (1, 700, 33 * KIB + 3, 250 * KIB, 5 * MIB + 17)
        for i in range(40):
            key = "obj/%02d" % i
            data = harness.pattern(sizes[i % len(sizes)] + i, i)
            self.s3.put_object(Bucket=bucket, Key=key, Body=data)
            digests[key] = hashlib.md5(data).hexdigest()
        return digests

    def read_all(self, bucket, digests):
        s3 = self.dev.client()
        bad = [key for key, digest in sorted(digests.items())
               if hashlib.md5(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
               != digest]
        self.assertEqual(bad, [], "objects that did not read back byte-identical")

    def node_of(self, provider):
        return [p for p in self.dev.processes("node") if p["provider"] == provider][0]

    def wait_status(self, predicate, what, timeout_s=180, check=None):
        return harness.wait_status(self.dev, predicate, what, timeout_s, check)

    def whole(self, doc):
        return harness.whole(doc)

    def kill_and_refuse_drain(self):
        """Kills provider-a's node, waits until status shows it unreachable (or already
        declared down), and checks that draining provider-b's node is refused."""
        s = self.wait_status(self.whole, "a complete healthy scan", 60)["safety"]
        self.assertEqual(s["survives_provider_losses"], 2)
        self.assertEqual(s["under_spread"], 0)
        killed, drained = self.node_of("provider-a"), self.node_of("provider-b")
        self.dev.kill_node(killed, destroy=True)
        self.wait_status(
            lambda d: harness.nodes_of(d)[killed["id"]]["health"] != "up",
            "the killed node to show as unreachable", 60)
        r = self.dev.mosaic("node", "drain", drained["id"])
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("refused to drain " + drained["id"], r.stderr)
        self.assertIn("node %s is unreachable or down" % killed["id"], r.stderr)
        self.assertIn("--force", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(harness.nodes_of(self.dev.status())[drained["id"]]["state"], "active")
        return killed, drained


class SixProvidersDrill(DrillBase, harness.DevTestCase):
    dev_args = ("--providers", "6", "--node-down-after", "3s")

    def test_forced_drain_with_a_node_lost_says_the_truth(self):
        digests = self.upload("six")
        killed, drained = self.kill_and_refuse_drain()

        r = self.dev.mosaic("node", "drain", drained["id"], "--force")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        answer = json.loads(r.stdout)
        self.assertEqual(answer["state"], "draining")
        # Before: the killed node's shards are missing, or already repaired with two at one
        # provider (1 loss survived). After: the drained shard doubles up too; 0 for stripes
        # whose killed shard is not repaired yet (the repair may have been quicker).
        self.assertEqual(answer["survives_before"], 1)
        self.assertIn(answer["survives_after"], (0, 1))
        self.assertGreater(answer["stripes_doubled"], 0)
        self.assertIn("survives the loss of 1 provider now, ", r.stderr)
        self.assertIn(" after the drain (", r.stderr)

        def truthful(doc):
            s = doc["safety"]
            self.assertEqual(s["lost"], 0, s)
            self.assertLessEqual(s["survives_provider_losses"], 1, s)

        doc = self.wait_status(
            lambda d: self.whole(d) and harness.nodes_of(d)[drained["id"]]["shards"] == 0
            and harness.nodes_of(d)[killed["id"]]["shards"] == 0,
            "the drain and the repair to finish", check=truthful)
        s = doc["safety"]
        # Six shards at four providers, two each at two of them: one provider loss survived.
        self.assertEqual(s["survives_provider_losses"], 1)
        self.assertEqual(s["under_spread"], s["stripes"])
        self.assertEqual(s["at_risk"], 0)
        text = self.dev.mosaic("status").stdout
        self.assertIn("%d under-spread (two shards at one provider)" % s["stripes"], text)
        self.assertIn("survives the loss of 1 provider", text)

        self.dev.kill_node(self.node_of("provider-c"), destroy=True)
        self.read_all("six", digests)


class SevenProvidersDrill(DrillBase, harness.DevTestCase):
    dev_args = ("--providers", "7", "--node-down-after", "3s")

    def test_refused_drain_keeps_two_losses(self):
        digests = self.upload("seven")
        killed, drained = self.kill_and_refuse_drain()
        # Not drained: the killed node's shards are rebuilt on the provider that held none.
        doc = self.wait_status(
            lambda d: self.whole(d) and harness.nodes_of(d)[killed["id"]]["shards"] == 0,
            "repair of the killed node's shards")
        s = doc["safety"]
        self.assertEqual(s["survives_provider_losses"], 2)
        self.assertEqual(s["under_spread"], 0)
        self.assertEqual(harness.nodes_of(doc)[killed["id"]]["health"], "declared down")
        self.assertEqual(harness.nodes_of(doc)[drained["id"]]["state"], "active")

        self.dev.kill_node(self.node_of("provider-c"), destroy=True)
        self.read_all("seven", digests)


if __name__ == "__main__":
    unittest.main()
