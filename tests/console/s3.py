"""boto3 for the console's browser tests: `s3.py mb BUCKET…`, `s3.py put BUCKET KEY TEXT`,
`s3.py roundtrip BUCKET KEY` (put, get, compare; exit 0 when it works, 3 when access is
refused). Credentials: AWS_* from the environment (dev.env, or a key the test made)."""
import os
import sys

import boto3
import botocore.exceptions
from botocore.config import Config


def client():
    return boto3.client(
        "s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))


def main():
    s3 = client()
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == "mb":
            for b in args:
                s3.create_bucket(Bucket=b)
        elif cmd == "put":
            s3.put_object(Bucket=args[0], Key=args[1], Body=args[2].encode())
        elif cmd == "roundtrip":
            body = os.urandom(4096)
            s3.put_object(Bucket=args[0], Key=args[1], Body=body)
            got = s3.get_object(Bucket=args[0], Key=args[1])["Body"].read()
            if got != body:
                print("read back different bytes", file=sys.stderr)
                return 1
        else:
            print("unknown command " + cmd, file=sys.stderr)
            return 2
    except botocore.exceptions.ClientError as e:
        print(e.response["Error"]["Code"], file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
