#!/bin/bash
# Issue 16: PUT/GET ops/s on a versioned bucket next to an unversioned one in the same run
# and the same `mosaic dev` (s3bench, 64 KiB objects, 8 lanes, rounds alternating between
# the buckets so that the machine's load falls on both alike). In a versioned bucket every
# PUT of a run makes a new version; s3bench's DELETEs then write delete markers.
# Starts its own `mosaic dev` in a temporary folder under /var/tmp and stops it at the end.
#
#   bench/load/s3bench_versions.sh build/mosaic build/bench/load/s3bench [ROUNDS]
set -euo pipefail
mosaic=$(realpath "$1") s3bench=$(realpath "$2") rounds=${3:-3}
. "$(dirname "$0")/start_dev.sh"
/usr/bin/python3 - "$dir/dev.env" <<'PY'
import sys, boto3
env = dict(l.strip().split("=", 1) for l in open(sys.argv[1]) if "=" in l)
env = {k: v.strip('"') for k, v in env.items()}
s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                  aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
for b in ("plain", "versioned"):
    s3.create_bucket(Bucket=b)
s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
PY
for round in $(seq "$rounds"); do
  for bucket in plain versioned; do
    echo "== round $round, bucket $bucket; $(uptime)"
    "$s3bench" --dev "$dir" --bucket "$bucket" --size 65536 --count 300 --lanes 8 --runs 1
  done
done
echo "== done; $(uptime)"
