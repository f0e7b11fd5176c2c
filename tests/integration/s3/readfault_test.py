"""Read faults reach the repair queue (issue 7) against `mosaic dev`: a GET that meets a
shard corrupt on a node's disk, or missing from the node, still returns the right bytes
(parity stands in for it), and the gateway queues that shard with reason "read" and rebuilds
it on another node at once. The nodes' own scrub runs once an hour in `mosaic dev`, so it
cannot find the corruption first.

The object is one 4 MiB stripe (4+2 over the 6 providers): each node holds one shard of it,
and a node that sends bytes on every GET holds a data shard (parity is read only when a data
shard fails or is slow)."""

import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import scrub_test as scrub  # noqa: E402  (chunk_records, flip, restart_node, status helpers)

MiB = 1 << 20
SIZE = 3 * MiB + 11


def sent_bytes(node):
    return scrub.metric(scrub.node_metrics(node), "mosaic_node_sent_bytes_total")


class ReadFaultCase(harness.DevTestCase):
    """The steps both cases share; the cases are the subclasses (one `mosaic dev` each; this
    class has no test, so it starts none)."""

    dev_args = ("--backup-lag", "1h")  # no backup cycle but the first: see setUp

    def setUp(self):
        self.nodes = self.dev.processes("node")
        # The chunks each node holds before the object (the metadata backup's).
        self.before = {n["id"]: scrub.chunks_after_first_backup(self.dev, n) for n in self.nodes}
        self.body = harness.pattern(SIZE, 3)
        self.s3.create_bucket(Bucket="faults")
        self.s3.put_object(Bucket="faults", Key="obj", Body=self.body)

    def get_right_bytes(self):
        got = self.s3.get_object(Bucket="faults", Key="obj")["Body"].read()
        self.assertTrue(got == self.body, "wrong bytes")

    def data_shard_node(self):
        """A node that sent bytes on each of two GETs: it holds a data shard."""
        readers = None
        for _ in range(2):
            before = {n["id"]: sent_bytes(n) for n in self.nodes}
            self.get_right_bytes()
            served = {n["id"] for n in self.nodes if sent_bytes(n) > before[n["id"]]}
            readers = served if readers is None else readers & served
        self.assertGreaterEqual(len(readers), 4, "a GET reads k = 4 shards")
        return [n for n in self.nodes if n["id"] == min(readers)][0]

    def repaired(self):
        return scrub.gateway_metric(self.dev, "mosaic_gateway_repaired_shards_total") or 0

    def gateway_log(self):
        """The gateway's log so far (its warnings are flushed at once)."""
        with open(os.path.join(self.dev.gateway["dir"], "gateway.log"), errors="replace") as f:
            return f.read()

    def check_read_fault_repaired(self, victim, code):
        """GETs (right bytes each time) until the gateway logs the read fault of `victim`'s
        shard with status `code`; then the shard must be rebuilt on another node."""
        repaired_before = self.repaired()
        fault = re.compile(r"repair: read found shard \d+ of stripe 0 of piece \S+ bad on %s: %s"
                           % (re.escape(victim["id"]), code))

        def reported():
            self.get_right_bytes()
            return fault.search(self.gateway_log())

        harness.poll(reported, 30, interval_s=0.5, what="the read fault in the gateway log")
        harness.poll(lambda: self.repaired() > repaired_before
                     and scrub.gateway_metric(self.dev, "mosaic_gateway_repair_backlog") == 0,
                     60, interval_s=0.2, what="the read fault to be repaired")
        self.assertEqual(self.repaired(), repaired_before + 1)

        # The manifest moved the shard: status counts none on the victim, all 6 healthy.
        doc = harness.poll(lambda: scrub.fully_healthy(self.dev), 60, interval_s=0.5,
                           what="status to show the stripe healthy")
        shards = {n["id"]: n["shards"] for p in doc["providers"] for n in p["nodes"]}
        self.assertEqual(shards[victim["id"]], 0, shards)
        self.assertEqual(sum(shards.values()), 6, shards)
        self.assertEqual(doc["safety"]["stripes"], 1, doc["safety"])

        # Later GETs read the right bytes without asking the victim.
        before = sent_bytes(victim)
        self.get_right_bytes()
        self.assertEqual(sent_bytes(victim), before)


class CorruptShardTest(ReadFaultCase):
    def test_a_get_of_a_corrupt_shard_queues_it_and_it_is_rebuilt(self):
        victim = self.data_shard_node()
        records = [r for r in scrub.chunk_records(victim["dir"])
                   if r not in self.before[victim["id"]]]
        self.assertEqual(len(records), 1, "the node got this object's shard only")
        path, offset, length = records[0]
        scrub.flip(path, offset + length // 2)
        self.check_read_fault_repaired(victim, "DATA_LOSS")


class MissingShardTest(ReadFaultCase):
    def test_a_get_of_a_missing_shard_queues_it_and_it_is_rebuilt(self):
        victim = self.data_shard_node()

        def lose_the_data():
            # Everything the node keeps but its config and logs: it comes back empty.
            for name in os.listdir(victim["dir"]):
                if name.startswith("node") and name.endswith((".toml", ".log")):
                    continue
                path = os.path.join(victim["dir"], name)
                if os.path.isdir(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)

        scrub.restart_node(self.dev, victim, "1h", lose_the_data)
        self.assertEqual(scrub.chunk_records(victim["dir"]), [])
        self.check_read_fault_repaired(victim, "NOT_FOUND")


if __name__ == "__main__":
    unittest.main(verbosity=2)
