#!/usr/bin/python3
"""Metadata backup cost under a PUT load (issue 8).

Starts `mosaic dev` twice in turn: once with --backup-lag 1h (after its first cycle at start,
no backup runs during the load: the baseline) and once with --backup-lag LAG (default 1s, the
most frequent setting, so that a cycle runs many times during the load). Each round PUTs
COUNT small objects (4 KiB, 8 in parallel) and reports PUT/s; rounds alternate between the
two systems (A B A B ...) so that a noisy machine weighs on both alike. Prints the medians
and their ratio.

  /usr/bin/python3 bench/load/backup_load.py --mosaic build/mosaic [--lag 1s] [--count 400]
      [--rounds 3]
"""

import argparse
import concurrent.futures
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "integration", "s3"))


def put_round(dev, bucket, count, tag):
    body = os.urandom(4096)
    local = threading.local()  # one client per thread: making one costs ~0.1 s of CPU

    def put(i):
        if not hasattr(local, "s3"):
            local.s3 = dev.client()
        local.s3.put_object(Bucket=bucket, Key="%s/%06d" % (tag, i), Body=body)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(count)))
    return count / (time.monotonic() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mosaic", required=True)
    parser.add_argument("--lag", default="1s")
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["MOSAIC_BINARY"] = os.path.abspath(args.mosaic)
    import harness
    systems = {"backup every " + args.lag: harness.DevSystem(dev_args=["--backup-lag", args.lag]),
               "no backup during the load": harness.DevSystem(dev_args=["--backup-lag", "1h"])}
    rates = {name: [] for name in systems}
    try:
        for dev in systems.values():
            dev.start()
            dev.client().create_bucket(Bucket="load")
        for r in range(args.rounds):
            for name, dev in systems.items():
                rates[name].append(put_round(dev, "load", args.count, "r%d" % r))
                print("round %d, %s: %.1f PUT/s" % (r + 1, name, rates[name][-1]), flush=True)
    finally:
        for dev in systems.values():
            dev.cleanup()
    medians = {name: statistics.median(v) for name, v in rates.items()}
    for name, m in medians.items():
        print("%-28s median %.1f PUT/s over %d rounds of %d" % (name, m, args.rounds, args.count))
    with_backup, without = medians.values()
    print("ratio with/without backup: %.2f" % (with_backup / without))


if __name__ == "__main__":
    main()
