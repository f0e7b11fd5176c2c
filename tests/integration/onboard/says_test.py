"""Every command that changes something says what it did, in one plain sentence (issue 20):
the provider's tenant commands, the group's node add, access keys, console members and teams,
run against real processes on loopback, each checked for its sentence.

Run with /usr/bin/python3; MOSAIC_BINARY names the executable (set by CTest).
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onboard_test import Processes, free_port, mosaic, poll, read_addr  # noqa: E402


def said(r):
    return r.stdout + r.stderr


class CommandsSayWhatTheyDid(Processes):
    tmp_prefix = "mosaic-says-"

    def test_each_change_is_reported_in_a_sentence(self):
        node_dir = self.init_node("n1", "coop", free_port())
        node_config = os.path.join(node_dir, "node.toml")
        add = mosaic("node", "tenant", "add", "group", "--quota", "1GiB", "--config", node_config)
        self.assertIn("tenant group added to %s (quota 1GiB)" % node_config, add.stderr)
        mosaic("node", "tenant", "add", "other", "--quota", "1GiB", "--config", node_config)
        self.start_node(node_dir, "n1")
        quota = mosaic("node", "tenant", "set-quota", "other", "--quota", "2GiB",
                       "--config", node_config)
        self.assertIn("tenant other's quota is now 2.0 GiB (was 1.0 GiB)", quota.stdout)
        removed = mosaic("node", "tenant", "remove", "other", "--config", node_config)
        self.assertIn("tenant other removed from " + node_config, removed.stdout)

        gw_dir = os.path.join(self.tmp, "gw")
        mosaic("gateway", "init", "--dir", gw_dir, "--k", "1", "--m", "0",
               "--listen", "127.0.0.1:%d" % free_port())
        config = os.path.join(gw_dir, "gateway.toml")
        node_add = mosaic("gateway", "node", "add", add.stdout.strip(), "--config", config)
        self.assertIn("added node coop-1 of provider coop", said(node_add))
        self.start("gw", "gateway", "--config", config)
        poll(lambda: read_addr(os.path.join(gw_dir, "admin.addr")), 60, what="the gateway")

        created = mosaic("key", "create", "app", "--bucket", "*", "--allow", "owner",
                         "--config", config)
        self.assertIn("key app may: *:owner", created.stderr)
        key_id = json.loads(created.stdout)["id"]
        deleted = mosaic("key", "delete", key_id, "--config", config)
        self.assertIn("access key %s deleted" % key_id, deleted.stdout)

        member = mosaic("member", "add", "ada", "--config", config)
        self.assertIn("one-time password for ada", member.stderr)
        steps = [
            (("team", "create", "crew"), "team crew created"),
            (("team", "add", "crew", "ada"), "member ada added to team crew"),
            (("team", "grant", "crew", "--bucket", "photos", "--allow", "read"),
             "team crew may now read bucket photos"),
            (("team", "grant", "crew", "--bucket", "photos", "--allow", "none"),
             "team crew has no right on bucket photos any more"),
            (("team", "delete", "crew"), "team crew deleted"),
            (("member", "remove", "ada"), "member ada removed"),
        ]
        for args, sentence in steps:
            r = mosaic(*args, "--config", config)
            self.assertIn(sentence, r.stdout, args)


if __name__ == "__main__":
    unittest.main()
