"""Restore from the key and one node (issue 20), with real processes on loopback: three TLS
nodes of three providers, a gateway set up with the onboarding commands and serving S3 over
HTTPS (its certificate outside its folder), objects written and backed up; the gateway's folder
is then lost, and `mosaic restore --key --node ADDRESS --fingerprint --token-file --into DIR`
recovers the metadata and a complete gateway.toml, which starts as it is: every object reads
back over HTTPS on the same port. A wrong fingerprint is refused, naming both; a drill with
the provider's invite (`--invite FILE`, for --node, --fingerprint and --token-file) restores
too, and so does `--invite FILE --into postgresql://…` (a PostgreSQL server of the test's own),
whose written gateway.toml serves every object over HTTPS. Then the old
gateway comes back beside the restored one (fencing): it still reads, its PUT fails and the
nodes refuse its deletions, naming both generations; the restored gateway writes, and all its
data reads back whole.

Run with /usr/bin/python3; MOSAIC_BINARY names the executable (set by CTest).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onboard_test import (Processes, decode_invite, free_port, mosaic, poll,  # noqa: E402
                          read, read_addr)
from tls_test import make_certificate  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s3"))
from local_pg import LocalPostgres  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

PROVIDERS = ("coop-a", "coop-b", "coop-c")
OBJECTS = 30


def body(i):
    return bytes((i * 7 + j) % 251 for j in range(1000 + i * 9000))


class RestoreFromOneNodeTest(Processes):
    tmp_prefix = "mosaic-restore-one-"

    def setUp(self):
        super().setUp()
        self.invites = []
        for i, provider in enumerate(PROVIDERS):
            d = self.init_node("n%d" % i, provider, free_port())
            self.start_node(d, "n%d" % i)
            add = mosaic("node", "tenant", "add", "group", "--quota", "1GiB", "--config",
                         os.path.join(d, "node.toml"))
            self.invites.append(add.stdout.strip())
            poll(lambda: "1 tenant(s)" in self.log("n%d" % i), 10, what="the tenant on n%d" % i)
        self.gw = os.path.join(self.tmp, "gw")
        self.port = free_port()
        mosaic("gateway", "init", "--dir", self.gw, "--k", "2", "--m", "1",
               "--listen", "127.0.0.1:%d" % self.port)
        certs = os.path.join(self.tmp, "certs")
        os.makedirs(certs)
        self.cert, key = make_certificate(certs)
        config = os.path.join(self.gw, "gateway.toml")
        text = read(config)
        with open(config, "w") as f:
            f.write('backup_lag = "1s"\ntls_cert_file = "%s"\ntls_key_file = "%s"\n%s' %
                    (self.cert, key, text))
        for line in self.invites:
            mosaic("gateway", "node", "add", line, "--config", config)

    def start_gateway(self, name, config):
        data_dir = os.path.dirname(config)
        self.start(name, "gateway", "--config", config)
        poll(lambda: read_addr(os.path.join(data_dir, "admin.addr")), 60,
             what="gateway %s" % name)

    def s3(self, key, port):
        return boto3.client("s3", endpoint_url="https://127.0.0.1:%d" % port,
                            aws_access_key_id=key["id"], aws_secret_access_key=key["secret"],
                            region_name="us-east-1", verify=self.cert,
                            config=Config(retries={"max_attempts": 1}))

    def wait_backed_up(self, config, since_ms):
        def covered():
            out = subprocess.run([os.environ["MOSAIC_BINARY"], "status", "--json", "--config",
                                  config], capture_output=True, text=True, timeout=60)
            b = json.loads(out.stdout).get("backup") if out.returncode == 0 else None
            return b and b["last_error"] == "" and b["covered_ms"] > since_ms
        poll(covered, 60, 0.2, what="the backup to cover every write")

    def restore(self, into, fingerprint=None):
        invite = decode_invite(self.invites[0])
        return mosaic("restore", "--key", self.key_copy, "--node", invite["address"],
                      "--fingerprint", fingerprint or invite["fingerprint"],
                      "--token-file", self.token_copy, "--into", into, check=False)

    def fill_and_back_up(self, count):
        """Starts the gateway, writes `count` objects and waits for the backup; its key."""
        config = os.path.join(self.gw, "gateway.toml")
        self.start_gateway("gw", config)
        key = json.loads(mosaic("key", "create", "app", "--bucket", "*", "--allow", "owner",
                                "--config", config).stdout)
        s3 = self.s3(key, self.port)
        s3.create_bucket(Bucket="coop")
        for i in range(count):
            s3.put_object(Bucket="coop", Key="o/%02d" % i, Body=body(i))
        self.wait_backed_up(config, int(time.time() * 1000))
        return key

    def test_restore_from_the_key_and_one_node(self):
        key = self.fill_and_back_up(OBJECTS)
        # What the operator kept: a copy of the key, and the token of one node.
        keep = os.path.join(self.tmp, "keep")
        os.makedirs(keep, mode=0o700)
        self.key_copy = os.path.join(keep, "master.key")
        shutil.copy(os.path.join(self.gw, "master.key"), self.key_copy)
        self.token_copy = os.path.join(keep, "token")
        with open(self.token_copy, "w") as f:
            f.write(decode_invite(self.invites[0])["token"] + "\n")
        # The provider's invite alone says where, who and with which token (--invite FILE);
        # a drill, while the gateway still runs.
        invite_copy = os.path.join(keep, "invite")
        with open(invite_copy, "w") as f:
            f.write(self.invites[0] + "\n")
        drill = mosaic("restore", "--key", self.key_copy, "--invite", invite_copy, "--into",
                       os.path.join(self.tmp, "drill"), "--drill", check=False)
        self.assertEqual(drill.returncode, 0, drill.stdout + drill.stderr)
        self.assertIn("through node coop-a-1 of provider coop-a", drill.stdout)
        self.assertRegex(drill.stdout, r"objects:\s+%d " % OBJECTS)
        both = mosaic("restore", "--key", self.key_copy, "--invite", invite_copy, "--node",
                      "127.0.0.1:1", "--into", os.path.join(self.tmp, "both"), check=False)
        self.assertNotEqual(both.returncode, 0, both.stdout + both.stderr)
        self.assertIn("--invite excludes --node", both.stderr)
        self.procs[-1].terminate()
        self.procs[-1].wait(60)
        os.rename(self.gw, self.gw + ".lost")  # nothing of the old folder is reachable

        wrong = self.restore(os.path.join(self.tmp, "wrong"), "sha256:" + "0" * 64)
        self.assertEqual(wrong.returncode, 1, wrong.stdout + wrong.stderr)
        self.assertIn(decode_invite(self.invites[0])["fingerprint"], wrong.stderr)
        self.assertIn("sha256:" + "0" * 64, wrong.stderr)

        into = os.path.join(self.tmp, "restored")
        out = self.restore(into)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"objects:\s+%d " % OBJECTS)
        self.assertRegex(out.stdout, r"0 missing, 0 not verified")
        restored = os.path.join(into, "gateway.toml")
        self.assertIn("mosaic gateway --config " + restored, out.stdout)
        text = read(restored)
        self.assertNotIn(self.gw, text)  # no path of the lost machine
        self.assertNotIn(os.path.join(self.tmp, "certs"), text)
        self.assertEqual(len(re.findall(r"^\[\[node\]\]", text, re.M)), 3, text)
        self.assertEqual(os.stat(restored).st_mode & 0o777, 0o600)

        self.start_gateway("restored", restored)  # as it is: no edit
        s3 = self.s3(key, self.port)  # same port, HTTPS with the same certificate
        for i in range(OBJECTS):
            self.assertEqual(s3.get_object(Bucket="coop", Key="o/%02d" % i)["Body"].read(),
                             body(i), "object %d" % i)
        s3.put_object(Bucket="coop", Key="after", Body=b"restored gateway writes")
        self.assertEqual(s3.get_object(Bucket="coop", Key="after")["Body"].read(),
                         b"restored gateway writes")
        self.assertRegex(out.stdout, r"fenced: gateway generation 1 taken at 3 of 3 nodes")
        self.check_fenced(key, s3)

    def test_restore_by_invite_into_postgresql(self):
        key = self.fill_and_back_up(OBJECTS // 3)
        self.key_copy = os.path.join(self.tmp, "master.key")
        shutil.copy(os.path.join(self.gw, "master.key"), self.key_copy)
        invite_copy = os.path.join(self.tmp, "invite")
        with open(invite_copy, "w") as f:
            f.write(self.invites[1] + "\n")  # another provider's node than the first test's
        self.procs[-1].terminate()
        self.procs[-1].wait(60)
        os.rename(self.gw, self.gw + ".lost")

        pg = LocalPostgres()
        self.addCleanup(pg.stop)
        pg.create_database("restored")
        into = os.path.join(self.tmp, "restored")
        out = mosaic("restore", "--key", self.key_copy, "--invite", invite_copy, "--into",
                     pg.uri("restored"), "--config-dir", into, check=False)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("through node coop-b-1 of provider coop-b", out.stdout)
        self.assertRegex(out.stdout, r"objects:\s+%d " % (OBJECTS // 3))
        self.assertFalse(os.path.exists(os.path.join(into, "meta")))  # not RocksDB
        restored = os.path.join(into, "gateway.toml")
        text = read(restored)
        self.assertRegex(text, r"(?m)^backend = ['\"]postgresql['\"]$")
        self.assertEqual(len(re.findall(r"^\[\[node\]\]", text, re.M)), 3, text)
        self.start_gateway("restored", restored)  # as restore wrote it
        s3 = self.s3(key, self.port)
        for i in range(OBJECTS // 3):
            self.assertEqual(s3.get_object(Bucket="coop", Key="o/%02d" % i)["Body"].read(),
                             body(i), "object %d" % i)
        s3.put_object(Bucket="coop", Key="after", Body=b"restored into PostgreSQL")
        self.assertEqual(s3.get_object(Bucket="coop", Key="after")["Body"].read(),
                         b"restored into PostgreSQL")

    def check_fenced(self, key, s3):
        """The old gateway comes back, on another port, beside the restored one."""
        os.rename(self.gw + ".lost", self.gw)
        config = os.path.join(self.gw, "gateway.toml")
        old_port = free_port()
        text = re.sub(r'^listen = ".*"$', 'listen = "127.0.0.1:%d"' % old_port, read(config),
                      count=1, flags=re.M)
        with open(config, "w") as f:
            f.write(text)
        self.start_gateway("old", config)
        old = self.s3(key, old_port)
        self.assertEqual(old.get_object(Bucket="coop", Key="o/00")["Body"].read(), body(0))
        with self.assertRaises(ClientError):
            old.put_object(Bucket="coop", Key="from-old", Body=b"old gateway writes")
        fenced = r"generation 0 is fenced off: generation 1 has taken over"
        poll(lambda: re.search(fenced, self.log("old")), 30, what="the fenced PUT in the log")
        # Its own metadata forgets the object, but the nodes refuse to delete its shards.
        old.delete_object(Bucket="coop", Key="o/01")
        poll(lambda: re.search(r"not deleted yet \(FAILED_PRECONDITION: .*" + fenced,
                               self.log("old")), 30, what="the fenced deletion in the log")
        s3.put_object(Bucket="coop", Key="after-old", Body=b"still the restored gateway")
        for i in range(OBJECTS):
            self.assertEqual(s3.get_object(Bucket="coop", Key="o/%02d" % i)["Body"].read(),
                             body(i), "object %d after the old gateway came back" % i)
        self.assertEqual(s3.get_object(Bucket="coop", Key="after-old")["Body"].read(),
                         b"still the restored gateway")
        self.assertEqual(
            self.error_code(s3, "from-old"), "NoSuchKey", "the old gateway's PUT is not there")

    def error_code(self, s3, key):
        try:
            s3.head_object(Bucket="coop", Key=key)
        except ClientError as e:
            return "NoSuchKey" if e.response["Error"]["Code"] in ("404", "NoSuchKey") else e
        return None


if __name__ == "__main__":
    unittest.main()
