"""S3 keys limited to a key prefix (issue 15's gap): a member whose team holds only
`press/archive/` gets keys for it from the CLI (`mosaic key create --member`) and from the
console's JSON API (`POST /console/api/v1/keys`, as the "S3 keys" page sends it). boto3 works
inside the prefix and gets AccessDenied outside it: objects, a listing of the whole bucket,
a copy from outside. A key wider than the member's grants is refused by both."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ConsoleSession, DevTestCase  # noqa: E402

BUCKET = "press"


class PrefixKeysTest(DevTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket=BUCKET)
        cls.s3.put_object(Bucket=BUCKET, Key="hello.txt", Body=b"outside\n")
        cls.s3.put_object(Bucket=BUCKET, Key="archive/old.txt", Body=b"inside\n")
        r = cls.dev.mosaic("member", "add", "cat")
        if r.returncode != 0:
            raise AssertionError("member add: " + r.stderr)
        cls.password = r.stdout.strip()
        for args in (("team", "create", "archive"), ("team", "add", "archive", "cat"),
                     ("team", "grant", "archive", "--bucket", BUCKET + "/archive/",
                      "--allow", "write")):
            r = cls.dev.mosaic(*args)
            if r.returncode != 0:
                raise AssertionError("%s: %s" % (" ".join(args), r.stderr))
        cls.grant_said = r.stdout

    def cli_key(self, name, *grants):
        args = ["key", "create", name, "--member", "cat"]
        for target, right in grants:
            args += ["--bucket", target, "--allow", right]
        return self.dev.mosaic(*args)

    def assert_inside_only(self, key_id, secret, tag):
        s3 = self.dev.client(key_id, secret)
        body = ("%s wrote this\n" % tag).encode()
        s3.put_object(Bucket=BUCKET, Key="archive/%s.txt" % tag, Body=body)
        got = s3.get_object(Bucket=BUCKET, Key="archive/%s.txt" % tag)["Body"].read()
        self.assertEqual(got, body)
        self.assertEqual(s3.get_object(Bucket=BUCKET, Key="archive/old.txt")["Body"].read(),
                         b"inside\n")
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="archive/")
        self.assertIn("archive/%s.txt" % tag, [o["Key"] for o in listed["Contents"]])
        s3.copy_object(Bucket=BUCKET, Key="archive/%s-copy.txt" % tag,
                       CopySource={"Bucket": BUCKET, "Key": "archive/old.txt"})
        denied = ("AccessDenied", 403)
        self.assertEqual(self.error_code(s3.get_object, Bucket=BUCKET, Key="hello.txt"), denied)
        self.assertEqual(self.error_code(s3.list_objects_v2, Bucket=BUCKET), denied)
        self.assertEqual(self.error_code(s3.list_objects_v2, Bucket=BUCKET, Delimiter="/"),
                         denied)
        self.assertEqual(self.error_code(s3.list_objects, Bucket=BUCKET, Prefix="arch"), denied)
        self.assertEqual(
            self.error_code(s3.copy_object, Bucket=BUCKET, Key="archive/stolen.txt",
                            CopySource={"Bucket": BUCKET, "Key": "hello.txt"}), denied)
        self.assertEqual(self.error_code(s3.put_object, Bucket=BUCKET, Key="other/x", Body=b"x"),
                         denied)
        self.assertEqual(self.error_code(s3.put_object, Bucket=BUCKET, Key="archivex", Body=b"x"),
                         denied)
        self.assertEqual(self.error_code(s3.delete_object, Bucket=BUCKET, Key="hello.txt"),
                         denied)
        # Nothing was written outside the prefix.
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
        self.assertEqual([k for k in keys if not k.startswith("archive/")], ["hello.txt"])
        self.assertNotIn("archive/stolen.txt", keys)

    def test_team_grant_takes_a_prefix(self):
        self.assertIn('the keys of bucket press starting with "archive/"', self.grant_said)
        r = self.dev.mosaic("team", "grant", "archive", "--bucket", "/archive/", "--allow", "read")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("expected BUCKET or BUCKET/PREFIX", r.stderr)

    def test_cli_prefix_key_works_inside_the_prefix_only(self):
        r = self.cli_key("cat-tool", (BUCKET + "/archive/", "write"))
        self.assertEqual(r.returncode, 0, r.stderr)
        key = json.loads(r.stdout)
        self.assertIn("key cat-tool of member cat may: press/archive/:write", r.stderr)
        self.assert_inside_only(key["id"], key["secret"], "cli")
        listed = self.dev.mosaic("key", "list")
        self.assertIn('"member": "cat", "grants": ["press/archive/:write"]', listed.stdout)

    def test_cli_refuses_a_key_wider_than_the_member(self):
        for grant, said in (((BUCKET, "read"), "does not hold read on press:"),
                            ((BUCKET + "/archive/", "owner"), "does not hold owner on press/archive/"),
                            ((BUCKET + "/other/", "read"), "does not hold read on press/other/"),
                            (("*", "read"), "does not hold read on *")):
            r = self.cli_key("too-wide", (BUCKET + "/archive/", "read"), grant)
            self.assertNotEqual(r.returncode, 0, grant)
            self.assertIn("403", r.stderr)
            self.assertIn(said, r.stderr)
        self.assertNotIn("too-wide", self.dev.mosaic("key", "list").stdout)

    def test_console_prefix_key_works_inside_the_prefix_only(self):
        cat = ConsoleSession(self.dev.env["MOSAIC_CONSOLE_URL"], "cat", self.password)
        status, key = cat.post("/keys", {"name": "cat-app", "bucket": BUCKET,
                                         "prefix": "archive/", "right": "write"})
        self.assertEqual(status, 200, key)
        self.assert_inside_only(key["id"], key["secret"], "console")

    def test_console_refuses_a_key_wider_than_the_member(self):
        cat = ConsoleSession(self.dev.env["MOSAIC_CONSOLE_URL"], "cat", self.password)
        for prefix, right in (("", "read"), ("arch", "read"), ("archive/", "owner")):
            status, text = cat.post("/keys", {"name": "wide", "bucket": BUCKET,
                                              "prefix": prefix, "right": right})
            self.assertEqual(status, 403, (prefix, right, text))
            self.assertIn("does not hold", text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
