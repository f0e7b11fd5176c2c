"""A provider's tenant tools (issue 20) with real processes on loopback: `mosaic node tenant
list` shows each group's quota, stored bytes and chunk count (read while the node runs);
`set-quota` is applied by the running node (a quota below what the group stores makes its
next write fail, raising it again lets it write); `remove` refuses while the group holds
chunks, naming how many, and removes it with --force; quotas larger than the disk draw a
warning from the commands and from the node at start.

Run with /usr/bin/python3; MOSAIC_BINARY names the executable (set by CTest).
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onboard_test import Processes, free_port, mosaic, poll, read, read_addr  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402


class TenantToolsTest(Processes):
    tmp_prefix = "mosaic-tenant-"

    def tenants(self):
        out = mosaic("node", "tenant", "list", "--json", "--config", self.node_config).stdout
        return {t["name"]: t for t in json.loads(out)}

    def start_system(self):
        self.node_dir = self.init_node("n1", "coop", free_port())
        self.node_config = os.path.join(self.node_dir, "node.toml")
        invite = mosaic("node", "tenant", "add", "group", "--quota", "1GiB", "--config",
                        self.node_config).stdout.strip()
        mosaic("node", "tenant", "add", "idle", "--quota", "1GiB", "--config", self.node_config)
        self.start_node(self.node_dir, "n1")
        gw_dir = os.path.join(self.tmp, "gw")
        port = free_port()
        mosaic("gateway", "init", "--dir", gw_dir, "--k", "1", "--m", "0",
               "--listen", "127.0.0.1:%d" % port)
        gw_config = os.path.join(gw_dir, "gateway.toml")
        mosaic("gateway", "node", "add", invite, "--config", gw_config)
        self.start("gw", "gateway", "--config", gw_config)
        poll(lambda: read_addr(os.path.join(gw_dir, "admin.addr")), 60, what="the gateway")
        key = json.loads(mosaic("key", "create", "app", "--bucket", "*", "--allow", "owner",
                                "--config", gw_config).stdout)
        self.s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:%d" % port,
                               aws_access_key_id=key["id"], aws_secret_access_key=key["secret"],
                               region_name="us-east-1",
                               config=Config(retries={"max_attempts": 1}))
        self.s3.create_bucket(Bucket="tenants")

    def reloads(self):
        return self.log("n1").count("SIGHUP:")

    def set_quota(self, name, quota):
        before = self.reloads()
        r = mosaic("node", "tenant", "set-quota", name, "--quota", quota,
                   "--config", self.node_config)
        poll(lambda: self.reloads() > before, 20, what="the node to reload its tenants")
        return r

    def test_list_set_quota_and_remove_on_a_running_node(self):
        self.start_system()
        for i in range(3):
            self.s3.put_object(Bucket="tenants", Key="k%d" % i, Body=os.urandom(200 * 1024))
        listed = self.tenants()
        self.assertEqual(set(listed), {"group", "idle"})
        self.assertEqual(listed["group"]["quota_bytes"], 1 << 30)
        self.assertGreaterEqual(listed["group"]["chunks"], 3)
        self.assertGreater(listed["group"]["used_bytes"], 3 * 200 * 1024)
        self.assertEqual(listed["idle"]["chunks"], 0)
        table = mosaic("node", "tenant", "list", "--config", self.node_config).stdout
        self.assertRegex(table, r"group\s+1\.0 GiB\s+\S+ [KM]iB\s+%d\b" % listed["group"]["chunks"])

        # Below what the group stores: the running node refuses its next write.
        r = self.set_quota("group", "64KiB")
        self.assertIn("tenant group's quota is now 64.0 KiB (was 1.0 GiB)", r.stdout)
        self.assertIn("the running node reloaded its tenants", r.stdout)
        self.assertIn("warning: tenant group already stores", r.stderr)
        self.assertIn('quota = "64KiB"', read(self.node_config))
        with self.assertRaises(ClientError):
            self.s3.put_object(Bucket="tenants", Key="refused", Body=os.urandom(100 * 1024))
        self.set_quota("group", "2GiB")
        self.s3.put_object(Bucket="tenants", Key="accepted", Body=os.urandom(100 * 1024))
        self.assertEqual(self.tenants()["group"]["quota_bytes"], 2 << 30)

        held = self.tenants()["group"]["chunks"]
        refused = mosaic("node", "tenant", "remove", "group", "--config", self.node_config,
                         check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("still holds %d chunk(s)" % held, refused.stderr)
        self.assertIn("--force", refused.stderr)
        self.assertIn("group", self.tenants())
        idle = mosaic("node", "tenant", "remove", "idle", "--config", self.node_config)
        self.assertIn("tenant idle removed from %s" % self.node_config, idle.stdout)
        forced = mosaic("node", "tenant", "remove", "group", "--force", "--config",
                        self.node_config)
        self.assertIn("tenant group removed", forced.stdout)
        self.assertIn("its %d chunk(s)" % held, forced.stdout)
        self.assertEqual(self.tenants(), {})
        poll(lambda: "0 tenant(s)" in self.log("n1"), 20, what="the node to drop the tenants")
        with self.assertRaises(ClientError):  # the gateway's token no longer works
            self.s3.put_object(Bucket="tenants", Key="gone", Body=b"x")

    def test_quotas_beyond_the_disk_are_warned_about(self):
        d = self.init_node("n1", "coop", free_port())
        self.node_config = os.path.join(d, "node.toml")
        fits = mosaic("node", "tenant", "add", "small", "--quota", "1MiB", "--config",
                      self.node_config)
        self.assertNotIn("warning", fits.stderr)
        big = mosaic("node", "tenant", "add", "big", "--quota", "1000TiB", "--config",
                     self.node_config)
        self.assertIn("warning: the tenants' quotas add up to", big.stderr)
        self.assertIn("more than the disk's", big.stderr)
        self.start_node(d, "n1")
        poll(lambda: "more than the disk's" in self.log("n1"), 10, what="the warning at start")
        fixed = mosaic("node", "tenant", "set-quota", "big", "--quota", "1MiB", "--config",
                       self.node_config)
        self.assertNotIn("warning", fixed.stderr)
        again = mosaic("node", "tenant", "set-quota", "big", "--quota", "1000TiB", "--config",
                       self.node_config)
        self.assertIn("more than the disk's", again.stderr)
        missing = mosaic("node", "tenant", "set-quota", "nobody", "--quota", "1GiB",
                         "--config", self.node_config, check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("no tenant named nobody", missing.stderr)


if __name__ == "__main__":
    unittest.main()
