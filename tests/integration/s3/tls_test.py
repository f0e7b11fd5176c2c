"""The S3 listener over TLS (issue 9): `mosaic dev`'s gateway restarted with tls_cert_file and
tls_key_file (a self-signed certificate made with the openssl tool) and a short idle timeout;
boto3 and `curl --aws-sigv4 --cacert` round trips over HTTPS, plain HTTP to the port answered
with a clear 400 without hurting the gateway, a client that never finishes its handshake
dropped after the head timeout, TLS older than 1.2 refused, and bad TLS settings refused at
start with a line naming the key or the file; SIGHUP reloads the certificate and key; and
(issue 18, finding 2 over TLS) boto3 served while 1,000 connections hang in their handshake
or with half a request head sent."""

import hashlib
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import unittest

import boto3
from botocore.config import Config

import harness

MiB = 1 << 20
IDLE_TIMEOUT_S = 2
# Long enough for the test to open its 1,000 slow TLS sockets before the first is dropped.
HEAD_TIMEOUT_S = 15


def make_certificate(directory):
    """A self-signed EC certificate for 127.0.0.1 and localhost; returns (cert, key) paths."""
    cert, key = os.path.join(directory, "s3.crt"), os.path.join(directory, "s3.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=mosaic-test",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def with_settings(config_text, top_level, limits=""):
    """A gateway config with more top-level keys (before the first table) and [limits]."""
    first_table = re.search(r"^\[", config_text, re.MULTILINE).start()
    text = config_text[:first_table] + top_level + config_text[first_table:]
    return text + ("[limits]\n" + limits if limits else "")


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:  # the 1,000 slow sockets; the gateway raises its own limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        cls.dev = harness.DevSystem()
        try:
            cls.dev.start()
            cls.cert, cls.key = make_certificate(cls.dev.dir)
            config = cls.dev.gateway["config"]
            with open(config) as f:
                cls.plain_config = f.read()
            with open(config, "w") as f:
                f.write(with_settings(cls.plain_config,
                                      'tls_cert_file = "%s"\ntls_key_file = "%s"\n'
                                      % (cls.cert, cls.key),
                                      'idle_timeout = "%ds"\nhead_timeout = "%ds"\n'
                                      % (IDLE_TIMEOUT_S, HEAD_TIMEOUT_S)))
            cls.dev.restart_gateway()
        except BaseException:
            cls.dev.cleanup()
            raise
        cls.dev.endpoint = "https://" + cls.dev.gateway["address"]
        cls.s3 = boto3.session.Session().client(
            "s3", endpoint_url=cls.dev.endpoint, region_name="us-east-1", verify=cls.cert,
            aws_access_key_id=cls.dev.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=cls.dev.env["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 3}, s3={"addressing_style": "path"}))
        cls.s3.create_bucket(Bucket="tls")

    @classmethod
    def tearDownClass(cls):
        cls.dev.cleanup()

    def tls_alive(self):
        """True when the gateway answers a HEAD of the bucket over HTTPS."""
        return self.s3.head_bucket(Bucket="tls")["ResponseMetadata"]["HTTPStatusCode"] == 200

    def curl(self, *args):
        """curl with the dev credentials, SigV4 and the test CA; returns CompletedProcess."""
        return subprocess.run(
            ["curl", "-sS", "--noproxy", "*", "--max-time", "60", "--cacert", self.cert,
             "--aws-sigv4", "aws:amz:us-east-1:s3",
             "--user", "%s:%s" % (self.dev.env["AWS_ACCESS_KEY_ID"],
                                  self.dev.env["AWS_SECRET_ACCESS_KEY"]), *args],
            capture_output=True, timeout=90)

    def test_boto3_round_trip_over_https(self):
        body = harness.pattern(9 * MiB + 123, 1)
        self.s3.put_object(Bucket="tls", Key="boto3/object", Body=body)
        got = self.s3.get_object(Bucket="tls", Key="boto3/object")["Body"].read()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(body).hexdigest())
        ranged = self.s3.get_object(Bucket="tls", Key="boto3/object", Range="bytes=100-199")
        self.assertEqual(ranged["Body"].read(), body[100:200])

    def test_curl_round_trip_over_https(self):
        body = harness.pattern(3 * MiB + 7, 2)
        with tempfile.TemporaryDirectory() as d:
            src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
            with open(src, "wb") as f:
                f.write(body)
            url = "%s/tls/curl/object" % self.dev.endpoint
            put = self.curl("--fail", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-T", src,
                            url)
            self.assertEqual(put.returncode, 0, put.stderr)
            get = self.curl("--fail", "-o", dst, url)
            self.assertEqual(get.returncode, 0, get.stderr)
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), body)

    def test_curl_refuses_the_certificate_without_the_ca(self):
        r = subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "30",
                            self.dev.endpoint + "/"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 60, r.stderr)  # the peer certificate cannot be verified

    def test_plain_http_gets_a_clear_400_and_the_gateway_lives(self):
        with socket.create_connection(self.dev.host_port, timeout=10) as s:
            s.sendall(b"GET /tls HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = harness.recv_all(s)
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer[:200])
        self.assertIn(b"HTTPS only", answer)
        r = subprocess.run(["curl", "-sS", "--noproxy", "*", "--max-time", "30", "-o",
                            "/dev/null", "-w", "%{http_code}",
                            "http://%s/tls" % self.dev.gateway["address"]],
                           capture_output=True, timeout=60)
        self.assertEqual(r.stdout, b"400", r.stderr)
        self.assertTrue(self.tls_alive())

    def test_a_client_that_never_finishes_its_handshake_is_dropped(self):
        with socket.create_connection(self.dev.host_port, timeout=10) as s:
            s.sendall(b"\x16\x03\x01")  # the start of a TLS record, never continued
            s.settimeout(HEAD_TIMEOUT_S * 4)
            self.assertEqual(s.recv(1024), b"", "the gateway did not close the connection")
        # A client that sends nothing at all is dropped the same way.
        with socket.create_connection(self.dev.host_port, timeout=10) as s:
            s.settimeout(HEAD_TIMEOUT_S * 4)
            self.assertEqual(s.recv(1024), b"", "the gateway did not close the connection")
        self.assertTrue(self.tls_alive())

    def test_tls_1_2_is_accepted_and_older_versions_refused(self):
        def handshake(version):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(self.cert)
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer old versions
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = version
            with socket.create_connection(self.dev.host_port, timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                    return s.version()

        self.assertEqual(handshake(ssl.TLSVersion.TLSv1_2), "TLSv1.2")
        self.assertEqual(handshake(ssl.TLSVersion.MAXIMUM_SUPPORTED), "TLSv1.3")
        for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            with self.assertRaises(ssl.SSLError, msg=str(old)):
                handshake(old)
        self.assertTrue(self.tls_alive())

    HALF_HEAD = b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Never-Ending: "
    SLOW_SOCKETS = 1000
    SOURCES = ["127.0.0.%d" % i for i in range(2, 12)]  # 100 each: under the per-address cap

    def open_slow(self, i):
        """Even i: a TLS record begun and never finished (a hung handshake). Odd i: a finished
        handshake, then half a request head over TLS. Returns the socket, non-blocking."""
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.settimeout(30)
        raw.bind((self.SOURCES[i % len(self.SOURCES)], 0))
        raw.connect(self.dev.host_port)
        if i % 2 == 0:
            raw.sendall(b"\x16\x03\x01")
            raw.setblocking(False)
            return raw
        ctx = ssl.create_default_context(cafile=self.cert)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(self.HALF_HEAD)
        s.setblocking(False)
        return s

    @staticmethod
    def closed(s):
        """True when the gateway closed s (nothing else is ever sent to it)."""
        try:
            return s.recv(4096) == b""
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        except OSError:
            return True

    def test_signed_clients_are_served_while_1000_tls_heads_hang(self):
        """Finding 2 of issue 18 over TLS: a TLS connection held a thread from its accept, so
        256 hung handshakes took every thread. Handshakes and heads are now read on the I/O
        thread: 1,000 connections hung in either (reopened when the gateway drops them at its
        head timeout) and boto3, with a new connection per client, keeps being served."""
        slow = [self.open_slow(i) for i in range(self.SLOW_SOCKETS)]
        self.assertEqual(sum(1 for s in slow if self.closed(s)), 0)
        stop_reopening = harness.start_reopener(slow, self.open_slow, self.closed)
        try:
            served = harness.round_trips(lambda: boto3.session.Session().client(
                "s3", endpoint_url=self.dev.endpoint, region_name="us-east-1",
                verify=self.cert, aws_access_key_id=self.dev.env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=self.dev.env["AWS_SECRET_ACCESS_KEY"],
                config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})),
                "tls", "slow/k")
            self.assertGreaterEqual(served, 5)
        finally:
            stop_reopening()
            for s in slow:
                s.close()
        self.assertTrue(self.tls_alive())


def served_certificate(host_port):
    """The DER certificate a new TLS connection to host_port is served (not verified)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(host_port, timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert(binary_form=True)


def der_of(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class TlsReloadTest(unittest.TestCase):
    """SIGHUP makes the gateway read its certificate and key files again (issue 19): a new
    connection sees the new certificate; files that do not load leave the old one served,
    and the log says why."""

    @classmethod
    def setUpClass(cls):
        cls.dev = harness.DevSystem()
        try:
            cls.dev.start()
            cls.tls_dir = os.path.join(cls.dev.dir, "tls")
            os.makedirs(cls.tls_dir)
            cls.cert, cls.key = make_certificate(cls.tls_dir)
            config = cls.dev.gateway["config"]
            with open(config) as f:
                text = f.read()
            with open(config, "w") as f:
                f.write(with_settings(text, 'tls_cert_file = "%s"\ntls_key_file = "%s"\n'
                                      % (cls.cert, cls.key)))
            cls.dev.restart_gateway()
        except BaseException:
            cls.dev.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.dev.cleanup()

    def log(self):
        with open(os.path.join(self.dev.gateway["dir"], "gateway-restart.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def test_sighup_reloads_the_certificate_and_keeps_it_when_the_new_one_is_bad(self):
        host_port = tuple(self.dev.gateway["address"].rsplit(":", 1))
        host_port = (host_port[0], int(host_port[1]))
        first = der_of(self.cert)
        self.assertEqual(served_certificate(host_port), first)
        with tempfile.TemporaryDirectory() as d:
            new_cert, new_key = make_certificate(d)
            shutil.copy(new_cert, self.cert)
            shutil.copy(new_key, self.key)
        second = der_of(self.cert)
        self.assertNotEqual(first, second)
        self.assertEqual(served_certificate(host_port), first)  # nothing reloads by itself
        os.kill(self.dev.gateway["pid"], signal.SIGHUP)
        harness.poll(lambda: served_certificate(host_port) == second, 30,
                     what="the new certificate to be served")
        self.assertIn("SIGHUP: TLS certificate reloaded", self.log())
        with open(self.key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        os.kill(self.dev.gateway["pid"], signal.SIGHUP)
        harness.poll(lambda: "not reloaded, the old one stays" in self.log(), 30,
                     what="the gateway to log the failed reload")
        self.assertIn(self.key, self.log())
        self.assertEqual(served_certificate(host_port), second)
        self.assertTrue(harness.process_running(self.dev.gateway["pid"]))


class TlsSettingsTest(unittest.TestCase):
    """Bad TLS settings stop `mosaic gateway` at start with one line naming the key or file.
    The gateway never gets as far as its nodes: no dev system is needed."""

    def setUp(self):
        if not harness.BINARY or not os.access(harness.BINARY, os.X_OK):
            self.skipTest("MOSAIC_BINARY is not set to the mosaic executable")
        self.dir = tempfile.mkdtemp(prefix="mosaic-tls-settings-")
        self.cert, self.key = make_certificate(self.dir)
        key_file = os.path.join(self.dir, "master.key")
        subprocess.run([harness.BINARY, "keygen", "--out", key_file], check=True,
                       capture_output=True, timeout=60)
        self.base = ('listen = "127.0.0.1:0"\nadmin_listen = "127.0.0.1:0"\n'
                     'data_dir = "%s/gw"\nkey_file = "%s"\n'
                     '[[node]]\nid = "n1"\nprovider = "p1"\naddress = "127.0.0.1:1"\n'
                     'token = "t"\nplaintext = true\n' % (self.dir, key_file))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_gateway(self, top_level):
        config = os.path.join(self.dir, "gateway.toml")
        with open(config, "w") as f:
            f.write(with_settings(self.base, top_level))
        return subprocess.run([harness.BINARY, "gateway", "--config", config],
                              capture_output=True, text=True, timeout=60)

    def test_a_certificate_without_a_key_is_refused(self):
        r = self.start_gateway('tls_cert_file = "%s"\n' % self.cert)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("tls_cert_file", r.stderr)
        self.assertIn("tls_key_file", r.stderr)

    def test_a_missing_key_file_is_named(self):
        missing = os.path.join(self.dir, "nowhere.key")
        r = self.start_gateway('tls_cert_file = "%s"\ntls_key_file = "%s"\n'
                               % (self.cert, missing))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(missing, r.stderr)

    def test_a_key_that_does_not_match_the_certificate_is_refused(self):
        other_dir = os.path.join(self.dir, "other")
        os.mkdir(other_dir)
        _, other_key = make_certificate(other_dir)
        r = self.start_gateway('tls_cert_file = "%s"\ntls_key_file = "%s"\n'
                               % (self.cert, other_key))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(other_key, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
