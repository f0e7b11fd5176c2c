"""`mosaic status` and `mosaic node drain|remove|undrain` against `mosaic dev` (issue 7): the
safety figures of a healthy system and of one with a node down, and a drain under a PUT/GET
load."""

import json
import os
import random
import re
import signal
import subprocess
import threading
import unittest
import urllib.request

import harness
from harness import pattern

KiB = 1 << 10
MiB = 1 << 20


def put_objects(s3, bucket, count, seed=0):
    sizes = (3 * KiB, 90 * KiB, 700 * KiB, 5 * MiB + 17)
    objects = {}
    for i in range(count):
        key = "obj/%03d" % i
        objects[key] = pattern(sizes[i % len(sizes)] + i, seed + i)
        s3.put_object(Bucket=bucket, Key=key, Body=objects[key])
    return objects


class HealthAndLossTest(harness.DevTestCase):
    def test_healthy_then_one_node_down(self):
        self.s3.create_bucket(Bucket="safety")
        objects = put_objects(self.s3, "safety", 8)
        doc = self.dev.status()
        safety = doc["safety"]
        self.assertEqual(safety["objects_and_parts"], 8)
        self.assertEqual(safety["at_risk"], 0)
        self.assertEqual(safety["under_spread"], 0)
        self.assertEqual(safety["bytes"], sum(len(b) for b in objects.values()))
        self.assertEqual(safety["stripes"], 8 + 2)  # the two 5 MiB objects have 2 stripes
        self.assertEqual(safety["healthy"], safety["stripes"])
        self.assertEqual(safety["lost"], 0)
        self.assertEqual(safety["missing"], {})
        self.assertEqual(safety["survives_provider_losses"], 2)
        self.assertEqual(doc["profile"], {"k": 4, "m": 2})
        nodes = harness.nodes_of(doc)
        self.assertEqual(len(doc["providers"]), 6)
        self.assertEqual(len(nodes), 6)
        for n in nodes.values():
            self.assertEqual(n["health"], "up", n)
            self.assertEqual(n["state"], "active", n)
            self.assertGreater(n["last_seen_ms"], 0)
        self.assertEqual(sum(n["shards"] for n in nodes.values()), 6 * safety["stripes"])
        text = self.dev.mosaic("status").stdout
        self.assertIn("all 10 stripes healthy; survives the loss of 2 providers", text)
        # Every background job is a worker with a state line (issue 19).
        workers = {w["name"]: w for w in doc["workers"]}
        self.assertEqual(set(workers), {"node states", "deleter", "upload expiry",
                                        "scrub findings", "deep scrub", "orphan sweep", "repair",
                                        "failure detector", "metadata backup", "safety scan",
                                        "lifecycle"})
        for w in workers.values():
            self.assertIn(w["state"], ("starting", "busy", "throttled", "idle"), w)
            self.assertEqual(w["errors_in_a_row"], 0, w)
        self.assertGreater(workers["repair"]["steps"], 0)
        self.assertIn("stripes queued", workers["repair"]["detail"])
        self.assertIn("Workers:\n", text)
        self.assertRegex(text, r"\n  repair: (busy|idle)[^\n]*stripes queued")

        victim = self.dev.processes("node")[2]
        held = nodes[victim["id"]]["shards"]
        self.assertGreater(held, 0)
        os.kill(victim["pid"], signal.SIGKILL)

        # The pool checks every 2 s: the node is unreachable at its first missed check, its
        # shards count as missing and their stripes as at risk at once, long before
        # node_down_after (10 minutes here) declares it down.
        def degraded():
            d = self.dev.status()
            row = harness.nodes_of(d)[victim["id"]]
            return d if row["health"] == "unreachable" and d["safety"]["missing"].get("1") else None

        doc = harness.poll(degraded, 60, 0.5, what="the killed node to count as unreachable")
        safety = doc["safety"]
        self.assertEqual(safety["missing"], {"1": held})
        self.assertEqual(safety["at_risk"], held)
        self.assertEqual(safety["healthy"], safety["stripes"] - held)
        self.assertEqual(safety["lost"], 0)
        self.assertEqual(safety["survives_provider_losses"], 1)
        left = harness.nodes_of(doc)[victim["id"]]["declared_down_in_s"]
        self.assertTrue(0 < left <= 600, left)
        text = self.dev.mosaic("status").stdout
        self.assertIn("%d missing 1 shard" % held, text)
        self.assertIn("%d at risk (a shard on an unreachable node)" % held, text)
        self.assertIn("survives the loss of 1 provider", text)
        self.assertNotIn("all %d stripes healthy" % safety["stripes"], text)
        row = [line for line in text.splitlines() if victim["id"] in line]
        self.assertTrue(row and "unreachable (declared down in " in row[0], text)
        for key, body in objects.items():
            self.assertTrue(self.s3.get_object(Bucket="safety", Key=key)["Body"].read() == body)


class DrainTest(harness.DevTestCase):
    # The metadata backup moves off a drained node at its next cycle (a new snapshot, the
    # old ones deleted, no root slots there): a short lag keeps that inside the test's wait.
    dev_args = ("--backup-lag", "2s")

    def repair_runs(self):
        """Whether this gateway has a repair job (its backlog gauge is exported)."""
        return any(k.startswith("mosaic_gateway_repair_backlog") for k in self.dev.metrics())

    def node_used_bytes(self, node_id):
        """The node's own mosaic_node_used_bytes (chunk bytes it stores)."""
        node = [p for p in self.dev.processes("node") if p["id"] == node_id][0]
        with urllib.request.urlopen("http://%s/metrics" % node["metrics"], timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("mosaic_node_used_bytes"):
                    return int(float(line.rpartition(" ")[2]))
        raise AssertionError("no mosaic_node_used_bytes from " + node_id)

    def test_node_commands(self):
        self.s3.create_bucket(Bucket="drain")
        objects = put_objects(self.s3, "drain", 12, seed=5)

        r = self.dev.mosaic("node", "drain", "no-such-node")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no-such-node", r.stderr)

        victim = self.dev.processes("node")[1]["id"]
        before = harness.nodes_of(self.dev.status())[victim]["shards"]
        self.assertGreater(before, 0)

        errors, done, stop = [], [0], threading.Event()

        def load():
            client = self.dev.client()
            rng = random.Random(7)
            i = 0
            while not stop.is_set():
                try:
                    key = "load/%04d" % i
                    body = pattern(rng.randrange(1, 200 * KiB), 1000 + i)
                    client.put_object(Bucket="drain", Key=key, Body=body)
                    old = rng.choice(sorted(objects))
                    got = client.get_object(Bucket="drain", Key=old)["Body"].read()
                    if got != objects[old]:
                        errors.append("wrong bytes for " + old)
                    if client.get_object(Bucket="drain", Key=key)["Body"].read() != body:
                        errors.append("wrong bytes for " + key)
                    done[0] += 1
                    i += 1
                except Exception as e:  # every client error fails the test
                    errors.append(repr(e))
                    return

        worker = threading.Thread(target=load)
        worker.start()
        try:
            harness.poll(lambda: done[0] >= 3 or errors, 60, what="the load to start")
            # Six providers for 4+2: a drain leaves five, so shards must double up. Refused
            # unless forced, saying the tolerance before and after (issue 19).
            r = self.dev.mosaic("node", "drain", victim)
            self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
            self.assertIn("only 5 providers would be left for 6 shards", r.stderr)
            self.assertIn("survives the loss of 2 providers now, 1 provider after the drain",
                          r.stderr)
            self.assertEqual(harness.nodes_of(self.dev.status())[victim]["state"], "active")
            r = self.dev.mosaic("node", "drain", victim, "--force")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("survives the loss of 2 providers now, 1 provider after the drain",
                          r.stderr)
            answer = json.loads(r.stdout)
            self.assertEqual((answer["survives_before"], answer["survives_after"]), (2, 1))
            self.assertEqual(answer["state"], "draining")
            # The load may have added stripes since `before`: one shard of each on the node.
            self.assertGreaterEqual(answer["shards"], before)
            self.assertEqual(answer["stripes_queued"], answer["shards"])
            before = answer["shards"]

            doc = self.dev.status()
            self.assertEqual(harness.nodes_of(doc)[victim]["state"], "draining")
            self.assertEqual([d["node"] for d in doc["drains"]], [victim])
            self.assertEqual(doc["drains"][0]["shards_at_start"], before)
            self.assertTrue(self.repair_runs())
            r = self.dev.mosaic("node", "drain", victim, "--force", "--wait", "--timeout",
                                "150s", timeout=200)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("holds no shard", r.stdout)
            self.assertIn("shards moved", r.stdout)  # plain progress lines: not a terminal
            harness.poll(lambda: done[0] >= 10 or errors, 60, what="more load")
            self.assertEqual(harness.nodes_of(self.dev.status())[victim]["shards"], 0)
            # The moved shards' old copies are deleted from the drained node itself.
            harness.poll(lambda: self.node_used_bytes(victim) == 0, 60,
                         what="the drained node to hold no chunk")
        finally:
            stop.set()
            worker.join(60)
        self.assertEqual(errors, [])
        self.assertGreaterEqual(done[0], 10)
        for key, body in objects.items():
            self.assertTrue(self.s3.get_object(Bucket="drain", Key=key)["Body"].read() == body,
                            key)
        text = self.dev.mosaic("status").stdout
        self.assertIn("Drain:     " + victim + " (draining)", text)

        r = self.dev.mosaic("node", "undrain", victim)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["state"], "active")

        # A removed node stays removed, across a gateway restart, and cannot come back.
        gone = self.dev.processes("node")[4]["id"]
        r = self.dev.mosaic("node", "remove", gone)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        r = self.dev.mosaic("node", "remove", gone, "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.dev.restart_gateway()
        harness.poll(self.dev.alive, 30, what="the restarted gateway")
        doc = self.dev.status()
        self.assertEqual(harness.nodes_of(doc)[gone]["state"], "removed")
        self.assertEqual(harness.nodes_of(doc)[victim]["state"], "active")
        r = self.dev.mosaic("node", "undrain", gone)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("removed", r.stderr)
        self.s3 = self.dev.client()
        key = "after-remove"
        self.s3.put_object(Bucket="drain", Key=key, Body=b"x" * 1000)
        self.assertEqual(self.s3.get_object(Bucket="drain", Key=key)["Body"].read(), b"x" * 1000)



class StoppedGatewayTest(harness.DevTestCase):
    def test_a_gateway_on_a_taken_port_exits_cleanly(self):
        # A second gateway (its own metadata) on the running gateway's S3 address: the listen
        # fails after every job started; it must stop them all and exit 1, not crash or hang.
        with open(self.dev.gateway["config"]) as f:
            text = f.read()
        data_dir = os.path.join(self.dev.dir, "second-gateway")
        text = re.sub(r'(?m)^data_dir\s*=.*$', 'data_dir = "%s"' % data_dir, text)
        text = re.sub(r'(?m)^admin_listen\s*=.*$', 'admin_listen = "127.0.0.1:0"', text)
        text = re.sub(r'(?m)^listen\s*=.*$', 'listen = "%s"' % self.dev.gateway["address"], text)
        config = os.path.join(self.dev.dir, "second-gateway.toml")
        with open(config, "w") as f:
            f.write(text)
        r = subprocess.run([harness.BINARY, "gateway", "--config", config],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # not a signal (negative)
        self.assertIn("cannot start the gateway", r.stdout + r.stderr)
        self.assertTrue(self.dev.alive())  # the first gateway still serves

    def test_commands_say_the_gateway_is_not_running_after_it_stopped(self):
        self.assertEqual(self.dev.mosaic("status").returncode, 0)
        config = self.dev.gateway["config"]
        admin_addr = os.path.join(self.dev.gateway["dir"], "admin.addr")
        self.assertTrue(os.path.exists(admin_addr))
        self.dev.stop()  # SIGTERM: a clean stop
        self.assertFalse(os.path.exists(admin_addr), "a stopped gateway left its admin.addr")
        r = subprocess.run([harness.BINARY, "status", "--config", config],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("is not running", r.stderr)

if __name__ == "__main__":
    unittest.main(verbosity=2)
