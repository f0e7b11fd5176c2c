"""`mosaic gateway` with a passphrase-mode master key (issue 19).

`mosaic keygen --passphrase` makes the key file; a second gateway on the dev system's nodes
starts with it, the passphrase given through --passphrase-fd and through a systemd
credentials directory ($CREDENTIALS_DIRECTORY/mosaic-passphrase), and a PUT/GET round trip
works through each. A wrong passphrase, or none at all, ends the gateway with a non-zero exit
code and a message saying what is wrong (and never the passphrase).
Run with /usr/bin/python3 (Debian's python3-boto3).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

import harness  # noqa: E402

PASSPHRASE = "correct horse battery staple"


def clean_env(**extra):
    """The environment without any passphrase or systemd credentials, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MOSAIC_PASSPHRASE", "CREDENTIALS_DIRECTORY")}
    env.update(extra)
    return env


class PassphraseGatewayTest(harness.DevTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = tempfile.mkdtemp(prefix="mosaic-passphrase-it-")
        cls.key = os.path.join(cls.work, "master.key")
        out = subprocess.run([harness.BINARY, "keygen", "--passphrase", "--out", cls.key],
                             input=PASSPHRASE + "\n", capture_output=True, text=True,
                             env=clean_env(), timeout=120)
        if out.returncode != 0:
            raise AssertionError("mosaic keygen --passphrase failed: " + out.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        super().tearDownClass()

    def config(self, name):
        """The dev gateway's config with our key, its own data folder and any ports."""
        with open(self.dev.gateway["config"]) as f:
            text = f.read()
        data_dir = os.path.join(self.work, name)
        os.makedirs(data_dir)
        for field, value in (("data_dir", data_dir), ("listen", "127.0.0.1:0"),
                             ("admin_listen", "127.0.0.1:0"), ("key_file", self.key)):
            text, n = re.subn(r'^%s = ".*"$' % field, '%s = "%s"' % (field, value), text,
                              count=1, flags=re.M)
            self.assertEqual(n, 1, field)
        path = os.path.join(self.work, name + ".toml")
        with open(path, "w") as f:
            f.write(text)
        return path, data_dir

    def start(self, config, data_dir, args=(), env=None, pass_fds=()):
        log = open(os.path.join(data_dir, "gateway.log"), "wb")
        proc = subprocess.Popen([harness.BINARY, "gateway", "--config", config, *args],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env or clean_env(), pass_fds=pass_fds)
        log.close()
        self.addCleanup(harness.terminate, proc, 60)
        return proc

    def log(self, data_dir):
        with open(os.path.join(data_dir, "gateway.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def round_trip(self, proc, config, data_dir):
        def addr():
            if proc.poll() is not None:
                raise AssertionError("gateway exited: " + self.log(data_dir))
            path = os.path.join(data_dir, "s3.addr")
            if os.path.exists(path) and os.path.exists(os.path.join(data_dir, "admin.addr")):
                with open(path) as f:
                    return f.readline().strip() or None
            return None

        endpoint = "http://" + harness.poll(addr, 120, what="the gateway's s3.addr")
        out = subprocess.run([harness.BINARY, "key", "create", "pp", "--config", config,
                              "--bucket", "passphrase", "--allow", "owner"],
                             check=True, capture_output=True, timeout=60)
        key = json.loads(out.stdout)
        s3 = boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id=key["id"], aws_secret_access_key=key["secret"],
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
        body = harness.pattern(300000, 19)
        s3.create_bucket(Bucket="passphrase")
        s3.put_object(Bucket="passphrase", Key="obj", Body=body)
        self.assertEqual(s3.get_object(Bucket="passphrase", Key="obj")["Body"].read(), body)
        self.assertNotIn(PASSPHRASE, self.log(data_dir))

    def test_passphrase_fd(self):
        config, data_dir = self.config("fd")
        read, write = os.pipe()
        os.write(write, (PASSPHRASE + "\n").encode())
        os.close(write)
        proc = self.start(config, data_dir, ["--passphrase-fd", str(read)], pass_fds=(read,))
        os.close(read)
        self.round_trip(proc, config, data_dir)

    def test_credentials_directory(self):
        config, data_dir = self.config("credentials")
        creds = os.path.join(self.work, "systemd-credentials")
        os.makedirs(creds)
        with open(os.path.join(creds, "mosaic-passphrase"), "w") as f:
            f.write(PASSPHRASE)  # systemd keeps the file's bytes: no line end here
        proc = self.start(config, data_dir, env=clean_env(CREDENTIALS_DIRECTORY=creds))
        self.round_trip(proc, config, data_dir)

    def test_wrong_passphrase_fails_clearly(self):
        config, data_dir = self.config("wrong")
        proc = self.start(config, data_dir, env=clean_env(MOSAIC_PASSPHRASE="not it"))
        self.assertNotEqual(proc.wait(timeout=120), 0)
        log = self.log(data_dir)
        self.assertIn("wrong passphrase", log)
        self.assertNotIn("not it", log)
        self.assertFalse(os.path.exists(os.path.join(data_dir, "s3.addr")))

    def test_no_passphrase_names_the_ways_to_give_it(self):
        config, data_dir = self.config("none")
        proc = self.start(config, data_dir)  # stdin is /dev/null, not a terminal
        self.assertNotEqual(proc.wait(timeout=120), 0)
        log = self.log(data_dir)
        for way in ("mosaic-passphrase", "--passphrase-fd", "MOSAIC_PASSPHRASE", "terminal"):
            self.assertIn(way, log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
