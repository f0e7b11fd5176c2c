"""A gateway killed under a PUT load (issues 14, 17): kill -9 in the middle of concurrent
PutObjects, then restart it on the same data folder.

Four boto3 threads PUT distinct 64 KiB objects (each key's bytes are known from its name)
as fast as they can; after some are acknowledged the gateway gets SIGKILL. After the
restart, every acknowledged object reads back byte-identical (a commit is synced before the
200), and every object that is visible at all — acknowledged or caught by the kill after its
commit — reads back whole: no object is visible whose shards are not durable (an object is
committed only after its shards are).
"""

import os
import sys
import threading
import time
import unittest

from botocore.exceptions import BotoCoreError, ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SIZE = 64 * 1024
THREADS = 4
PUTS_PER_THREAD = 200      # bound on each thread's loop
KILL_AFTER_ACKS = 40       # acknowledged PUTs before the kill
LOAD_TIMEOUT_S = 120


def seed_of(key):
    return sum(key.encode()) % 251


class CrashUnderPutLoad(harness.DevTestCase):

    def test_acknowledged_objects_survive_a_kill_and_nothing_half_written_is_visible(self):
        self.s3.create_bucket(Bucket="crash")
        acked, lock = [], threading.Lock()
        stop = threading.Event()

        def writer(thread):
            s3 = self.dev.client()
            for i in range(PUTS_PER_THREAD):
                if stop.is_set():
                    return
                key = "t%d/%04d" % (thread, i)
                try:
                    s3.put_object(Bucket="crash", Key=key,
                                  Body=harness.pattern(SIZE, seed_of(key)))
                except (BotoCoreError, ClientError):
                    return  # the gateway is gone
                with lock:
                    acked.append(key)

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= KILL_AFTER_ACKS:
                    break
            time.sleep(0.05)
        self.dev.restart_gateway()  # SIGKILL, then `mosaic gateway` on the same folder
        stop.set()
        for t in threads:
            t.join(LOAD_TIMEOUT_S)
            self.assertFalse(t.is_alive(), "a writer did not stop")
        self.assertGreaterEqual(len(acked), KILL_AFTER_ACKS)

        s3 = self.dev.client()
        listed = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash"):
            listed += [o["Key"] for o in page.get("Contents", [])]
        missing = sorted(set(acked) - set(listed))
        self.assertEqual(missing, [], "acknowledged objects lost")
        for key in listed:
            body = s3.get_object(Bucket="crash", Key=key)["Body"].read()
            self.assertEqual(len(body), SIZE, key)
            self.assertTrue(body == harness.pattern(SIZE, seed_of(key)), key)


if __name__ == "__main__":
    unittest.main()
