"""Automatic repair (issue 7): the provider-loss drill at a small scale.

`mosaic dev --providers 7 --node-down-after 2s`: seven providers of one node each, 4+2
stripes. Every stripe sits on 6 of the 7 providers, so when one provider is destroyed, repair
has a provider holding no shard of each damaged stripe to rebuild its lost shard on; after
the repair every stripe is again on 6 distinct live providers, and losing any 2 more leaves
at least k = 4 shards of every stripe. Without the repair, a stripe that had shards on the
destroyed provider and on both providers killed later would keep only 3 shards: its object
would be unreadable. So reading every object back byte-identical after the last two kills
is a real check that the first loss was repaired, onto the right providers.

The gateway is also restarted (SIGKILL) in the middle of the repair: the queue is in
RocksDB, and the new gateway finishes it.
"""

import os
import sys
import unittest

from boto3.s3.transfer import TransferConfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

MIB = 1 << 20


def backlog(metrics):
    return metrics.get("mosaic_gateway_repair_backlog", -1)


def repaired(metrics):
    return metrics.get("mosaic_gateway_repaired_shards_total", 0)


class ProviderLossDrill(harness.DevTestCase):
    dev_args = ("--providers", "7", "--node-down-after", "2s")

    def slow_repairs(self):
        """Restarts the gateway with a slow repair rate, so a restart can fall inside one.

        The key goes first in the file: after a [[node]] header it would belong to the node.
        """
        path = self.dev.gateway["config"]
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write('repair_bytes_per_second = "4MiB"\n' + text)
        self.dev.restart_gateway()

    def kill_node(self, provider, destroy=False):
        node = [p for p in self.dev.processes("node") if p["provider"] == provider][0]
        self.dev.kill_node(node, destroy)
        return node["id"]

    def upload(self, s3, bucket):
        objects = {}
        sizes = [0, 1, 4096, 100_000, MIB, 3 * MIB + 7, 5 * MIB + 3]
        for i in range(57):
            key = "small/%02d" % i
            data = harness.pattern(sizes[i % len(sizes)] + i, i)
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            objects[key] = data
        # Multipart: boto3's upload_file cuts a 20 MiB file into 8 MiB parts (3 pieces).
        config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)
        for i in range(3):
            key = "large/%d" % i
            data = harness.pattern(20 * MIB + i, 100 + i)
            path = os.path.join(self.dev.dir, "upload.bin")
            with open(path, "wb") as f:
                f.write(data)
            s3.upload_file(path, bucket, key, Config=config)
            os.unlink(path)
            objects[key] = data
        head = s3.head_object(Bucket=bucket, Key="large/0")
        self.assertTrue(head["ETag"].strip('"').endswith("-3"), head["ETag"])
        return objects

    def test_provider_loss_drill(self):
        try:
            self.drill()
        except BaseException:
            # The system's folder goes with the class: show the gateway's last words first.
            for name in ("gateway.log", "gateway-restart.log"):
                path = os.path.join(self.dev.gateway["dir"], name)
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        tail = f.read()[-4000:].decode(errors="replace")
                    sys.stderr.write("--- %s ---\n%s\n" % (name, tail))
            raise

    def drill(self):
        self.slow_repairs()
        s3 = self.dev.client(retries={"max_attempts": 3})
        s3.create_bucket(Bucket="drill")
        objects = self.upload(s3, "drill")
        self.assertEqual(len(objects), 60)
        self.assertEqual(backlog(self.dev.metrics()), 0)

        # Destroy provider a for good.
        self.kill_node("provider-a", destroy=True)
        # Repair starts by itself once the node is declared down (2 s).
        harness.poll(lambda: repaired(self.dev.metrics()) > 0, 60, 0.05,
                     what="repair to start")
        left = backlog(self.dev.metrics())
        # At 4 MiB/s, the ~30 MiB of lost shards take several seconds: this is mid-repair.
        self.assertGreater(left, 0, "the repair finished before the restart")
        self.dev.restart_gateway()
        # The new gateway resumes the queue it finds in RocksDB and empties it.
        harness.poll(lambda: (lambda m: backlog(m) == 0 and repaired(m) > 0)(self.dev.metrics()),
                     150, 0.5, what="the repair queue to empty after the restart")
        # An empty queue alone does not say that every damaged stripe was queued: the old
        # gateway may have died while queueing provider a's stripes; the new one queues the
        # rest once it declares the node down in its turn. Status says when all are whole.
        doc = harness.wait_status(
            self.dev, lambda d: harness.whole(d) and d["safety"]["survives_provider_losses"] == 2,
            "every stripe whole on six providers after the restart", 150)
        self.assertEqual(doc["safety"]["under_spread"], 0)

        # Two more providers go; every object must still read back byte-identical.
        self.kill_node("provider-b")
        self.kill_node("provider-c")
        s3 = self.dev.client(retries={"max_attempts": 3})
        for key, data in sorted(objects.items()):
            body = s3.get_object(Bucket="drill", Key=key)["Body"].read()
            self.assertEqual(len(body), len(data), key)
            self.assertTrue(body == data, "%s differs after the losses" % key)


class DeclaredDownAcrossRestart(harness.DevTestCase):
    """A node declared down stays declared down when the gateway starts again: the record is
    in the metadata, so the new gateway declares it at its first check (and queues whatever
    the old one had not queued yet) instead of waiting node_down_after once more. Here the
    restarted gateway's node_down_after is an hour: without the record, status would show
    the node "unreachable" for that hour."""
    dev_args = ("--providers", "7", "--node-down-after", "2s")

    def health_of(self, doc, node_id):
        return harness.nodes_of(doc)[node_id]["health"]

    def test_restarted_gateway_keeps_the_node_declared_down(self):
        s3 = self.dev.client()
        s3.create_bucket(Bucket="down")
        for i in range(6):
            s3.put_object(Bucket="down", Key="o%d" % i, Body=harness.pattern(200_000 + i, i))
        node = [p for p in self.dev.processes("node") if p["provider"] == "provider-a"][0]
        self.dev.kill_node(node, destroy=True)
        harness.wait_status(
            self.dev, lambda d: self.health_of(d, node["id"]) == "declared down" and harness.whole(d),
            "provider-a declared down and repaired", 120)

        path = self.dev.gateway["config"]
        with open(path) as f:
            text = f.read()
        self.assertIn('node_down_after = "2s"', text)
        with open(path, "w") as f:
            f.write(text.replace('node_down_after = "2s"', 'node_down_after = "1h"'))
        self.dev.restart_gateway()
        harness.wait_status(
            self.dev, lambda d: self.health_of(d, node["id"]) == "declared down",
            "the restarted gateway to declare provider-a down again", 60)
        s3 = self.dev.client()
        for i in range(6):
            body = s3.get_object(Bucket="down", Key="o%d" % i)["Body"].read()
            self.assertEqual(body, harness.pattern(200_000 + i, i))


if __name__ == "__main__":
    unittest.main()
