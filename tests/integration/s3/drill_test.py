"""The provider-loss drill of issue 7, as the issue states it.

`mosaic dev --providers 6 --node-down-after 3s`: six providers of one node each, 4+2, so every
stripe has one shard at each provider. 500 objects of mixed sizes (some multipart) are
written, then:

1. one provider is destroyed for good (its node killed, its data folder deleted). Repair
   runs by itself, but five providers are left for six shards: each repaired stripe has two
   shards at one provider, and status must say the data survives the loss of only 1
   provider;
2. a new provider is added with `mosaic node add` (a node process started as a provider
   would): the gateway moves one of each pair of shards onto it, and status must say every
   stripe is whole and the data survives 2 provider losses again;
3. two more providers are destroyed: every object reads back byte-identical (from exactly the
   four providers left, so a stripe whose pair was not spread would be unreadable).

Status (`mosaic status --json`) is asserted at each step.
"""

import hashlib
import json
import os
import sys
import unittest

from boto3.s3.transfer import TransferConfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

KIB = 1 << 10
MIB = 1 << 20


whole = harness.whole


class ProviderLossDrill(harness.DevTestCase):
    dev_args = ("--providers", "6", "--node-down-after", "3s")

    def upload(self, s3, bucket):
        digests = {}
        sizes = (0, 1, 700, 4 * KIB, 33 * KIB + 3, 100 * KIB, 250 * KIB)
        for i in range(464):
            key = "small/%03d" % i
            data = harness.pattern(sizes[i % len(sizes)] + i, i)
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            digests[key] = hashlib.md5(data).hexdigest()
        for i in range(30):  # one to two 4 MiB stripes, the last one short
            key = "medium/%02d" % i
            data = harness.pattern(MIB + i * 211 * KIB, 1000 + i)
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            digests[key] = hashlib.md5(data).hexdigest()
        config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
        path = os.path.join(self.dev.dir, "upload.bin")
        for i in range(6):  # three parts each, so three pieces
            key = "multipart/%d" % i
            data = harness.pattern(10 * MIB + 512 * KIB + i, 2000 + i)
            with open(path, "wb") as f:
                f.write(data)
            s3.upload_file(path, bucket, key, Config=config)
            digests[key] = hashlib.md5(data).hexdigest()
        os.unlink(path)
        return digests

    def read_all(self, s3, bucket, digests):
        bad = [key for key, digest in sorted(digests.items())
               if hashlib.md5(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
               != digest]
        self.assertEqual(bad, [], "objects that did not read back byte-identical")

    def destroy(self, provider):
        node = [p for p in self.dev.processes("node") if p["provider"] == provider][0]
        self.dev.kill_node(node, destroy=True)
        return node["id"]

    def wait_status(self, predicate, what, timeout_s=180):
        return harness.wait_status(self.dev, predicate, what, timeout_s)

    def test_destroy_add_repair_destroy_two_more(self):
        s3 = self.dev.client()
        bucket = "drill"
        s3.create_bucket(Bucket=bucket)
        digests = self.upload(s3, bucket)
        self.assertEqual(len(digests), 500)

        # Step 0: healthy, one shard per provider: 2 provider losses survived.
        doc = self.wait_status(whole, "a complete healthy scan", 60)
        self.assertEqual(doc["safety"]["survives_provider_losses"], 2)
        stripes = doc["safety"]["stripes"]
        self.assertGreater(stripes, 500)

        # Step 1: provider-a is gone for good. While it is down and not yet repaired, no
        # stripe is lost and none misses more than one shard.
        gone = self.destroy("provider-a")
        doc = self.wait_status(
            lambda d: harness.nodes_of(d)[gone]["health"] == "declared down",
            "node %s declared down" % gone, 60)
        self.assertEqual(doc["safety"]["lost"], 0)
        self.assertTrue(set(doc["safety"]["missing"]) <= {"1"}, doc["safety"])
        self.assertEqual(doc["safety"]["stripes"], stripes)
        # Repaired by itself onto the five providers left: whole again, but some provider
        # holds two shards of a stripe, so only one more provider loss is survived.
        doc = self.wait_status(
            lambda d: whole(d) and harness.nodes_of(d)[gone]["shards"] == 0,
            "repair onto the five providers left")
        self.assertEqual(doc["safety"]["survives_provider_losses"], 1)
        self.assertEqual(doc["safety"]["stripes"], stripes)

        # Step 2: a new provider joins. A wrong token is refused and adds nothing.
        new = self.dev.start_node("provider-g-1", "provider-g")
        bad_token = os.path.join(self.dev.dir, "bad.token")
        with open(bad_token, "w") as f:
            f.write("0" * 64 + "\n")
        args = ["node", "add", new["id"], "--provider", "provider-g",
                "--address", new["address"], "--plaintext"]
        r = self.dev.mosaic(*args, "--token-file", bad_token)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("did not answer", r.stderr)
        self.assertNotIn(new["id"], harness.nodes_of(self.dev.status()))
        r = self.dev.mosaic(*args, "--token-file", os.path.join(self.dev.dir, ".token"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["node"], new["id"])
        r = self.dev.mosaic(*args, "--token-file", os.path.join(self.dev.dir, ".token"))
        self.assertEqual(r.returncode, 2, "the same id twice: " + r.stdout + r.stderr)

        # The pairs move onto provider-g: every stripe on six distinct providers again.
        doc = self.wait_status(
            lambda d: whole(d) and d["safety"]["survives_provider_losses"] == 2,
            "stripes spread onto the new provider")
        self.assertGreater(harness.nodes_of(doc)[new["id"]]["shards"], 0)
        self.assertEqual(harness.nodes_of(doc)[new["id"]]["health"], "up")

        # The added node survives a gateway restart (it is in the metadata, not the config).
        self.dev.restart_gateway()
        s3 = self.dev.client()
        doc = self.wait_status(lambda d: new["id"] in harness.nodes_of(d) and whole(d),
                               "the restarted gateway with the added node", 60)
        self.assertEqual(doc["safety"]["survives_provider_losses"], 2)

        # Step 3: two more providers destroyed; the four left hold exactly k shards of
        # every stripe.
        for provider in ("provider-b", "provider-c"):
            self.destroy(provider)
        self.read_all(s3, bucket, digests)
        doc = self.wait_status(
            lambda d: sum(1 for n in harness.nodes_of(d).values() if n["health"] != "up") == 3,
            "three nodes seen unreachable", 60)
        self.assertEqual(doc["safety"]["lost"], 0)


if __name__ == "__main__":
    unittest.main()
