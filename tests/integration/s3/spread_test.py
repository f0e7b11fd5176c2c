"""Safety comes back by itself (issue 20), with real nodes and no gateway restart.

`mosaic dev --providers 5`, 4+2: six shards at five providers, so every stripe is written
with two shards at one provider (under-spread) and survives the loss of 1 provider only;
status and /metrics say so. Then:

1. a sixth provider is added (`mosaic node add`): the gateway moves one shard of each pair
   onto it, and status says every stripe survives 2 provider losses again;
2. that provider's quota is cut below what it holds (node.toml + SIGHUP, as a provider
   would): new stripes double up elsewhere and are shown under-spread;
3. its quota is raised again: they move back, and status says 2 losses again.

The gateway process is the same throughout. Waits are bounded (harness.poll), generous.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

KIB = 1 << 10
UNDER_SPREAD = 'mosaic_gateway_stripes{state="under_spread"}'
SURVIVES = "mosaic_gateway_survives_provider_losses"


def settled(doc):
    """A complete scan with every stripe whole and nothing queued for repair."""
    s = doc["safety"]
    return (s["complete"] and s["stripes"] > 0 and s["healthy"] == s["stripes"]
            and s["lost"] == 0 and doc["backlog"]["repair"]["count"] == 0)


class SpreadComesBack(harness.DevTestCase):
    dev_args = ("--providers", "5")

    def upload(self, prefix, count):
        for i in range(count):
            data = harness.pattern(20 * KIB + i * 97, i)
            self.s3.put_object(Bucket="spread", Key="%s/%02d" % (prefix, i), Body=data)

    def wait(self, predicate, what):
        return harness.wait_status(self.dev, predicate, what, timeout_s=240)

    def test_under_spread_is_shown_and_moves_back_without_restart(self):
        gateway_pid = self.dev.gateway["pid"]
        self.s3.create_bucket(Bucket="spread")
        self.upload("five", 12)
        doc = self.wait(lambda d: settled(d) and d["safety"]["stripes"] >= 12,
                        "a complete scan of the first objects")
        s = doc["safety"]
        self.assertEqual(s["under_spread"], s["stripes"], s)
        self.assertEqual(s["survives_provider_losses"], 1, s)
        text = self.dev.mosaic("status").stdout
        self.assertIn("under-spread (two shards at one provider)", text)
        metrics = self.dev.metrics()
        self.assertEqual(metrics[UNDER_SPREAD], s["under_spread"])
        self.assertEqual(metrics[SURVIVES], 1)

        # 1. A sixth provider: the pairs move onto it.
        new = self.dev.start_node("provider-f-1", "provider-f", quota="10GiB")
        r = self.dev.mosaic("node", "add", new["id"], "--provider", "provider-f",
                            "--address", new["address"], "--plaintext",
                            "--token-file", os.path.join(self.dev.dir, ".token"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = self.wait(lambda d: settled(d) and d["safety"]["under_spread"] == 0,
                        "the stripes to spread onto the sixth provider")
        self.assertEqual(doc["safety"]["survives_provider_losses"], 2, doc["safety"])
        self.assertGreater(harness.nodes_of(doc)[new["id"]]["shards"], 0)

        # 2. Its quota is cut below what it holds: new stripes double up, and it shows.
        self.dev.set_quota(new, "64KiB")
        self.wait(lambda d: harness.nodes_of(d)[new["id"]]["quota_bytes"] == 64 << 10,
                  "the gateway to see the cut quota")
        self.upload("full", 12)
        doc = self.wait(lambda d: settled(d) and d["safety"]["under_spread"] > 0,
                        "the stripes written while the node is full to show as under-spread")
        self.assertEqual(doc["safety"]["survives_provider_losses"], 1, doc["safety"])
        self.assertGreater(self.dev.metrics()[UNDER_SPREAD], 0)

        # 3. The quota is raised: they move back by themselves.
        self.dev.set_quota(new, "10GiB")
        doc = self.wait(lambda d: settled(d) and d["safety"]["under_spread"] == 0,
                        "the stripes to spread back once the quota is raised")
        self.assertEqual(doc["safety"]["survives_provider_losses"], 2, doc["safety"])
        self.assertEqual(self.dev.metrics()[SURVIVES], 2)
        self.assertEqual(self.dev.gateway["pid"], gateway_pid, "the gateway was restarted")
        for i in range(12):
            for prefix in ("five", "full"):
                body = self.s3.get_object(Bucket="spread", Key="%s/%02d" % (prefix, i))["Body"]
                self.assertEqual(body.read(), harness.pattern(20 * KIB + i * 97, i))


if __name__ == "__main__":
    unittest.main()
