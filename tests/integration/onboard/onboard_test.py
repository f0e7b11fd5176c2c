"""Onboarding commands (issue 9) with real processes on loopback: `mosaic node init`,
`mosaic node tenant add` (a running node picks the tenant up on SIGHUP), `mosaic gateway
init`, `mosaic gateway node add INVITE` (the certificate pinned by fingerprint), an S3 round
trip through the onboarded system, and a node that later presents another certificate being
refused with an error naming both fingerprints.

Run with /usr/bin/python3; MOSAIC_BINARY names the executable (set by CTest).
"""

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s3"))
from harness import BINARY, poll, terminate  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mosaic(*args, check=True):
    r = subprocess.run([BINARY] + list(args), capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("mosaic %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def decode_invite(line):
    prefix = "mosaic-invite-1:"
    assert line.startswith(prefix), line
    b64 = line[len(prefix):]
    return json.loads(base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)))


def fingerprint(cert_path):
    with open(cert_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return "sha256:" + hashlib.sha256(der).hexdigest()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def read_addr(path):
    try:
        with open(path) as f:
            return f.readline().strip() or None
    except FileNotFoundError:
        return None


def read(path):
    with open(path) as f:
        return f.read()


class Processes(unittest.TestCase):
    """A temporary folder and the mosaic processes a test starts in it (no tests of its own:
    restore_test.py builds on it too)."""
    tmp_prefix = "mosaic-onboard-"

    def setUp(self):
        if not BINARY or not os.access(BINARY, os.X_OK):
            self.skipTest("MOSAIC_BINARY is not set to the mosaic executable")
        self.tmp = tempfile.mkdtemp(prefix=self.tmp_prefix)
        self.procs = []
        self.logs = []

    def tearDown(self):
        for p in self.procs:
            terminate(p, 30)
        for f in self.logs:
            f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, name, *args):
        log = open(os.path.join(self.tmp, name + ".log"), "ab")
        self.logs.append(log)
        p = subprocess.Popen([BINARY] + list(args), stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def log(self, name):
        with open(os.path.join(self.tmp, name + ".log"), errors="replace") as f:
            return f.read()

    def init_node(self, name, provider, port):
        d = os.path.join(self.tmp, name)
        mosaic("node", "init", "--dir", d, "--provider", provider,
               "--listen", "127.0.0.1:%d" % port)
        return d

    def start_node(self, d, name):
        p = self.start(name, "node", "--config", os.path.join(d, "node.toml"))
        poll(lambda: p.poll() is None and read_addr(os.path.join(d, "grpc.addr")), 30,
             what="node %s to listen" % name)
        poll(lambda: os.path.exists(os.path.join(d, "node.pid")), 10, what="node.pid")
        return p


class OnboardTest(Processes):
    def test_node_init_makes_private_files_and_refuses_to_overwrite(self):
        d = self.init_node("n", "coop", free_port())
        self.assertEqual(mode(d), 0o700)
        self.assertEqual(mode(os.path.join(d, "node.key")), 0o600)
        self.assertIn("BEGIN PRIVATE KEY", read(os.path.join(d, "node.key")))
        toml = read(os.path.join(d, "node.toml"))
        self.assertIn('node_id = "coop-1"', toml)
        self.assertIn('data_dir = "%s"' % d, toml)
        self.assertNotIn("[[tenant]]", toml)
        # The certificate names the advertised host (an IP here) in its subjectAltName.
        out = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                              os.path.join(d, "node.crt")], capture_output=True, text=True)
        self.assertIn("IP Address:127.0.0.1", out.stdout)
        again = mosaic("node", "init", "--dir", d, "--provider", "coop", check=False)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("exists", again.stderr)
        self.assertEqual(read(os.path.join(d, "node.toml")), toml)

    def test_gateway_init_makes_key_and_config_and_refuses_to_overwrite(self):
        d = os.path.join(self.tmp, "gw")
        out = mosaic("gateway", "init", "--dir", d, "--k", "2", "--m", "1").stdout
        self.assertIn("gateway node add", out)
        self.assertEqual(mode(d), 0o700)
        self.assertEqual(mode(os.path.join(d, "master.key")), 0o600)
        toml = read(os.path.join(d, "gateway.toml"))
        self.assertIn("k = 2", toml)
        self.assertIn('key_file = "%s/master.key"' % d, toml)
        again = mosaic("gateway", "init", "--dir", d, check=False)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("exists", again.stderr)

    def test_invite_pins_the_node_and_a_running_node_takes_the_new_tenant(self):
        node_dir = self.init_node("n1", "coop", free_port())
        node_config = os.path.join(node_dir, "node.toml")
        self.start_node(node_dir, "n1")
        # The tenant is added while the node runs: it must take it up on SIGHUP.
        add = mosaic("node", "tenant", "add", "group", "--quota", "1GiB", "--config", node_config)
        lines = add.stdout.strip().splitlines()
        self.assertEqual(len(lines), 1, add.stdout)
        invite = decode_invite(lines[0])
        self.assertEqual(invite["node_id"], "coop-1")
        self.assertEqual(invite["provider"], "coop")
        self.assertEqual(invite["fingerprint"], fingerprint(os.path.join(node_dir, "node.crt")))
        self.assertEqual(len(invite["token"]), 64)
        self.assertIn(hashlib.sha256(invite["token"].encode()).hexdigest(),
                      read(node_config))
        self.assertNotIn(invite["token"], read(node_config))
        poll(lambda: "1 tenant(s)" in self.log("n1"), 10, what="the node to reload its tenants")

        gw_dir = os.path.join(self.tmp, "gw")
        s3_port = free_port()
        mosaic("gateway", "init", "--dir", gw_dir, "--k", "1", "--m", "0",
               "--listen", "127.0.0.1:%d" % s3_port)
        gw_config = os.path.join(gw_dir, "gateway.toml")
        # A wrong fingerprint in the invite: refused, naming both, and nothing written.
        wrong = dict(invite, fingerprint="sha256:" + "0" * 64)
        forged = "mosaic-invite-1:" + base64.urlsafe_b64encode(
            json.dumps(wrong).encode()).decode().rstrip("=")
        before = read(gw_config)
        refused = mosaic("gateway", "node", "add", forged, "--config", gw_config, check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn(invite["fingerprint"], refused.stderr)
        self.assertIn("sha256:" + "0" * 64, refused.stderr)
        self.assertEqual(read(gw_config), before)

        mosaic("gateway", "node", "add", lines[0], "--config", gw_config)
        toml = read(gw_config)
        self.assertIn('tls_fingerprint = "%s"' % invite["fingerprint"], toml)
        self.assertEqual(read(os.path.join(gw_dir, "nodes", "coop-1.crt")),
                         read(os.path.join(node_dir, "node.crt")))
        twice = mosaic("gateway", "node", "add", lines[0], "--config", gw_config, check=False)
        self.assertNotEqual(twice.returncode, 0)
        self.assertIn("already", twice.stderr)

        self.start("gw", "gateway", "--config", gw_config)
        poll(lambda: read_addr(os.path.join(gw_dir, "admin.addr")), 30, what="the gateway")
        key = json.loads(mosaic("key", "create", "app", "--bucket", "*", "--allow", "owner",
                                "--config", gw_config).stdout)
        s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:%d" % s3_port,
                          aws_access_key_id=key["id"], aws_secret_access_key=key["secret"],
                          region_name="us-east-1",
                          config=Config(retries={"max_attempts": 1}))
        s3.create_bucket(Bucket="onboard")
        body = os.urandom(300 * 1024)
        s3.put_object(Bucket="onboard", Key="k", Body=body)
        self.assertEqual(s3.get_object(Bucket="onboard", Key="k")["Body"].read(), body)

        # The node comes back with another certificate: the gateway refuses it and says why.
        self.procs[0].send_signal(signal.SIGTERM)
        self.procs[0].wait(30)
        other = self.init_node("other", "coop", 1)
        for name in ("node.crt", "node.key"):
            shutil.copy(os.path.join(other, name), os.path.join(node_dir, name))
        self.start_node(node_dir, "n1-again")
        expected = "node coop-1 presented certificate %s but %s is pinned" % (
            fingerprint(os.path.join(other, "node.crt")), invite["fingerprint"])
        poll(lambda: expected in self.log("gw"), 30, what="the pin mismatch in the gateway log")


if __name__ == "__main__":
    unittest.main()
