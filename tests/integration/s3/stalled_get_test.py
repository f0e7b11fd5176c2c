#!/usr/bin/python3
"""Stalled GETs cannot take the gateway's memory (issue 18 finding 5, issue 14).

64 clients GET a 1 GiB object over raw sockets, read a few bytes and stop reading. Every
reader of the gateway shares one read-ahead budget, so the stalled ones hold about a stripe
each: the gateway's resident memory stays at most 512 MiB, and another client is still
served meanwhile. Before the shared budget every GET read up to 64 MiB ahead on its own
(30 stalled GETs took a gateway to 3.6 GB).

  MOSAIC_BINARY=build/mosaic /usr/bin/python3 tests/integration/s3/stalled_get_test.py
"""

import http.client
import os
import socket
import sys
import time
import unittest

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.BINARY = os.environ.get("MOSAIC_BINARY")

BIG = 1 << 30
STALLED = 64
RSS_LIMIT = 512 << 20
WATCH_S = 25  # under the gateway's 60 s transfer timeout, which would end the stalls
CHUNK = 1 << 20


def body_chunk(i):
    return bytes([i & 0xFF]) * 4096 * 256  # 1 MiB of one value per MiB of the object


class StalledGetTest(harness.DevTestCase):

    def signed_headers(self, method, path, extra=None):
        env = self.dev.env
        auth = SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]),
                         "s3", "us-east-1")
        headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
        headers.update(extra or {})
        req = AWSRequest(method=method, url=self.dev.endpoint + path, headers=headers)
        auth.add_auth(req)
        headers = dict(req.headers.items())
        headers["Host"] = "%s:%d" % self.dev.host_port  # signed as the URL's host
        return headers

    def put_big(self, path):
        """One PutObject of BIG bytes (not multipart), streamed 1 MiB at a time."""
        host, port = self.dev.host_port
        conn = http.client.HTTPConnection(host, port, timeout=600)
        headers = self.signed_headers("PUT", path, {"Content-Length": str(BIG)})
        conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        for i in range(BIG // CHUNK):
            conn.send(body_chunk(i))
        r = conn.getresponse()
        self.assertEqual(r.status, 200, r.read()[:300])
        r.read()
        conn.close()

    def stall(self, path):
        """A GET whose client reads the head and a few bytes of body, then stops reading."""
        host, port = self.dev.host_port
        s = socket.create_connection((host, port), timeout=60)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        head = "GET %s HTTP/1.1\r\n" % path
        for name, value in self.signed_headers("GET", path).items():
            head += "%s: %s\r\n" % (name, value)
        s.sendall((head + "\r\n").encode())
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            self.assertTrue(chunk, "the gateway closed a stalled GET before answering")
            got += chunk
        self.assertTrue(got.startswith(b"HTTP/1.1 200"), got[:200])
        return s

    def rss(self):
        with open("/proc/%d/status" % self.dev.gateway["pid"]) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the gateway")

    def test_stalled_gets_hold_bounded_memory_and_others_are_served(self):
        self.s3.create_bucket(Bucket="stall")
        self.put_big("/stall/big")
        small = harness.pattern(300 << 10, 7)
        self.s3.put_object(Bucket="stall", Key="small", Body=small)
        sockets = []
        try:
            for _ in range(STALLED):
                sockets.append(self.stall("/stall/big"))
            peak = 0
            served = 0
            deadline = time.monotonic() + WATCH_S
            while time.monotonic() < deadline:
                peak = max(peak, self.rss())
                if peak > RSS_LIMIT:
                    break
                got = self.s3.get_object(Bucket="stall", Key="small")["Body"].read()
                self.assertEqual(got, small, "another client got wrong bytes")
                served += 1
                ranged = self.s3.get_object(Bucket="stall", Key="big",
                                            Range="bytes=%d-%d" % (BIG - CHUNK, BIG - 1))
                self.assertEqual(ranged["Body"].read(), body_chunk(BIG // CHUNK - 1))
                time.sleep(0.5)
            print("gateway peak RSS %d MiB with %d stalled GETs; %d other GETs served"
                  % (peak >> 20, STALLED, served), file=sys.stderr)
            self.assertLessEqual(peak, RSS_LIMIT,
                                 "gateway RSS %d MiB with %d stalled GETs"
                                 % (peak >> 20, STALLED))
            self.assertGreater(served, 0)
        finally:
            for s in sockets:
                s.close()


if __name__ == "__main__":
    unittest.main()
