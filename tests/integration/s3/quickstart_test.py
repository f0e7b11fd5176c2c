#!/usr/bin/env python3
"""The README's quick start and the commands `mosaic dev` prints, run verbatim (issue 20).

Both are run by bash with Debian's own clients first on PATH (/usr/bin/aws is awscli 2.9,
which ignores AWS_ENDPOINT_URL: a command that relies on it tries amazonaws.com and fails),
with no AWS_* variable or ~/.aws of the caller's, so what a new user types on a fresh
Debian 12 machine is what is tested. Run with /usr/bin/python3; MOSAIC_BINARY names the
`mosaic` executable.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def quick_start_block(readme_text):
    """The first ```sh block after the "## Quick start" heading."""
    section = readme_text.split("## Quick start", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    if not match:
        raise AssertionError("README's quick start has no ```sh block")
    return match.group(1)


def printed_commands(dev_out):
    """The indented lines after "Try it" in what `mosaic dev` printed, up to a blank line."""
    lines = dev_out.split("Try it", 1)[1].splitlines()[1:]
    commands = []
    for line in lines:
        if not line.strip():
            break
        commands.append(line.strip())
    if not commands:
        raise AssertionError("mosaic dev printed no commands to try:\n" + dev_out)
    return "\n".join(commands) + "\n"


def debian_shell_env(home):
    """The environment of a new user's shell: Debian's clients, no AWS settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = "/usr/bin:/bin"
    env["HOME"] = home
    return env


class QuickStartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access("/usr/bin/aws", os.X_OK):
            raise AssertionError("Debian's awscli (/usr/bin/aws) is not installed")
        cls.dev = harness.DevSystem().start()
        cls.work = tempfile.mkdtemp(prefix="mosaic-quickstart-")
        # The README's commands name ./dev-data and ./README.md, as in the repository root.
        os.symlink(cls.dev.dir, os.path.join(cls.work, "dev-data"))
        shutil.copy(os.path.join(ROOT, "README.md"), cls.work)
        os.mkdir(os.path.join(cls.work, "home"))

    @classmethod
    def tearDownClass(cls):
        cls.dev.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def run_script(self, script, bucket):
        script = script.replace("s3://demo", "s3://" + bucket)
        result = subprocess.run(["/bin/bash", "-e", "-c", script], cwd=self.work,
                                env=debian_shell_env(os.path.join(self.work, "home")),
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0,
                         "script failed:\n%s\nstdout:\n%s\nstderr:\n%s"
                         % (script, result.stdout, result.stderr))
        return result.stdout

    def check_round_trip(self, out, bucket):
        # `aws s3 ls` lists README.md; `aws s3 cp s3://…/README.md -` (when present) prints it.
        self.assertIn("README.md", out)
        s3 = self.dev.client()
        body = s3.get_object(Bucket=bucket, Key="README.md")["Body"].read()
        with open(os.path.join(ROOT, "README.md"), "rb") as f:
            self.assertEqual(body, f.read())

    def test_readme_quick_start_runs_verbatim(self):
        block = quick_start_block(open(os.path.join(ROOT, "README.md")).read())
        self.assertIn("s3://demo", block)
        out = self.run_script(block, "demo")
        self.check_round_trip(out, "demo")
        self.assertIn("Mosaic is an S3-compatible object store", out)

    def test_commands_mosaic_dev_prints_run_verbatim(self):
        with open(os.path.join(self.dev.dir, "dev.out")) as f:
            commands = printed_commands(f.read())
        self.assertIn("s3://demo", commands)
        out = self.run_script(commands, "printed")
        self.check_round_trip(out, "printed")


if __name__ == "__main__":
    unittest.main(verbosity=2)
