"""Sensible defaults (issue 20): the gateway warns at every start when S3 is plain HTTP on an
address that is not loopback, and `mosaic node --help` lists a provider's commands only,
saying where the gateway-side node commands are run."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

WARNING = "WARNING: the S3 listener serves plain HTTP on "


class NodeHelpTest(unittest.TestCase):
    def run_mosaic(self, *args):
        if not harness.BINARY:
            self.fail("MOSAIC_BINARY is not set to the mosaic executable")
        return subprocess.run([harness.BINARY, *args], capture_output=True, text=True,
                              timeout=60)

    def test_node_help_lists_provider_commands_only(self):
        r = self.run_mosaic("node", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for provider_command in ("init", "tenant", "hash-token"):
            self.assertRegex(r.stdout, r"\n\s+%s\s" % provider_command)
        for gateway_command in ("add", "drain", "remove", "undrain", "forget"):
            self.assertNotRegex(r.stdout, r"\n\s+%s\s" % gateway_command)
        self.assertIn("mosaic node add|drain|remove|undrain|forget", r.stdout)
        self.assertIn("run on the gateway's machine", r.stdout)
        r = self.run_mosaic("node", "drain", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[on the gateway]", r.stdout)


class PlainHttpWarningTest(harness.DevTestCase):
    def test_warns_at_start_only_beyond_loopback(self):
        gw = self.dev.gateway
        log_path = os.path.join(gw["dir"], "gateway-restart.log")
        # mosaic dev listens on 127.0.0.1: no warning.
        with open(os.path.join(self.dev.dir, "dev.out"), errors="replace") as f:
            self.assertNotIn(WARNING, f.read())
        with open(gw["config"]) as f:
            text = f.read()
        with open(gw["config"], "w") as f:
            f.write(re.sub(r'^listen = ".*"$', 'listen = "0.0.0.0:0"', text, count=1,
                           flags=re.M))
        self.dev.restart_gateway()
        harness.poll(self.dev.alive, 30, what="the restarted gateway")
        with open(log_path, errors="replace") as f:
            log = f.read()
        self.assertIn(WARNING + "0.0.0.0:0", log)
        self.assertIn("tls_cert_file", log)


if __name__ == "__main__":
    unittest.main()
