"""deploy/netns-demo.sh as a test (issue 9): network namespaces as separate hosts, three
providers with two nodes each and a gateway, set up with the onboarding commands only; TLS
between gateway and nodes; an S3 round trip; an invite with a wrong fingerprint refused; a
cut provider survived; and afterwards no namespace and no process of the demo left.

Needs root (skipped otherwise). Run with /usr/bin/python3; MOSAIC_BINARY names the
executable (set by CTest).
"""

import os
import shutil
import subprocess
import tempfile
import unittest

BINARY = os.environ.get("MOSAIC_BINARY", "")
DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "deploy",
                    "netns-demo.sh")


def demo_namespaces():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [l.split()[0] for l in out.splitlines() if l.startswith("mosaic-demo-")]


def processes_mentioning(text):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


class NetnsDemoTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("the demo needs root for network namespaces")
        if shutil.which("ip") is None:
            self.skipTest("no ip command (iproute2)")
        if not BINARY or not os.access(BINARY, os.X_OK):
            self.skipTest("MOSAIC_BINARY is not set to the mosaic executable")
        if demo_namespaces():
            self.fail("namespaces of an earlier demo exist: %s" % demo_namespaces())
        self.dir = tempfile.mkdtemp(prefix="mosaic-netns-test-")

    def tearDown(self):
        subprocess.run([DEMO, "--cleanup"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_demo_onboards_round_trips_and_survives_a_cut_provider(self):
        work = os.path.join(self.dir, "work")
        r = subprocess.run([DEMO, "--cut", "b", BINARY], capture_output=True, text=True,
                           timeout=150, env=dict(os.environ, DEMO_DIR=work))
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        out = r.stdout
        # The commands are echoed: the forged invite, then one per node.
        self.assertEqual(out.count("gateway node add mosaic-invite-1:"), 7)
        self.assertIn("wrong fingerprint refused", out)
        self.assertIn("but the invite pins sha256:" + "0" * 64, out)
        self.assertIn("S3 round trip over HTTPS", out)
        self.assertIn("round trip ok", out)
        self.assertIn("b-1 cut off", out)
        self.assertIn("degraded read ok without provider b", out)
        self.assertIn("demo ok", out)
        self.assertEqual(demo_namespaces(), [])
        self.assertEqual(processes_mentioning(work), [])
        self.assertFalse(os.path.exists(work), "the demo's work folder is left")


if __name__ == "__main__":
    unittest.main()
