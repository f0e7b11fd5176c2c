"""Config errors of `mosaic node` and `mosaic gateway` (issue 9): a missing file, an unknown
key, a bad value and an unreadable key file each give ONE line on stderr naming the file
(and the key), and a non-zero exit, before anything starts.

Run with /usr/bin/python3; MOSAIC_BINARY names the executable (set by CTest).
"""

import os
import shutil
import subprocess
import tempfile
import unittest

BINARY = os.environ.get("MOSAIC_BINARY", "")


def read(path):
    with open(path) as f:
        return f.read()


class ConfigErrorsTest(unittest.TestCase):
    def setUp(self):
        if not BINARY or not os.access(BINARY, os.X_OK):
            self.skipTest("MOSAIC_BINARY is not set to the mosaic executable")
        self.tmp = tempfile.mkdtemp(prefix="mosaic-config-errors-")
        subprocess.run([BINARY, "node", "init", "--dir", self.path("node"), "--provider", "p",
                        "--listen", "127.0.0.1:1"], check=True, capture_output=True)
        subprocess.run([BINARY, "gateway", "init", "--dir", self.path("gw"),
                        "--listen", "127.0.0.1:1"], check=True, capture_output=True)
        with open(self.path("gw/gateway.toml"), "a") as f:
            f.write('\n[[node]]\nid = "n"\nprovider = "p"\naddress = "127.0.0.1:1"\n'
                    'token = "t"\nplaintext = true\n')
        self.node = read(self.path("node/node.toml"))
        self.gateway = read(self.path("gw/gateway.toml"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def fails_with_one_line(self, role, config, *words):
        r = subprocess.run([BINARY, role, "--config", config], capture_output=True, text=True,
                           timeout=30)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        for word in (config,) + words:
            self.assertIn(word, lines[0])
        return lines[0]

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def test_missing_file(self):
        for role in ("node", "gateway"):
            self.fails_with_one_line(role, self.path("nope/%s.toml" % role), "cannot read")

    def test_unknown_key(self):
        node = self.write("n1.toml", "colour = \"blue\"\n" + self.node)
        self.fails_with_one_line("node", node, "colour", "unknown key")
        node = self.write("n2.toml", self.node.replace("[tls]\n", "[tls]\nciphers = \"x\"\n"))
        self.fails_with_one_line("node", node, "tls.ciphers", "unknown key")
        gw = self.write("g1.toml", "colour = \"blue\"\n" + self.gateway)
        self.fails_with_one_line("gateway", gw, "colour", "unknown key")
        gw = self.write("g2.toml", self.gateway + "colour = \"blue\"\n")
        self.fails_with_one_line("gateway", gw, "node.colour", "unknown key")

    def test_bad_value(self):
        node = self.write("n1.toml", "max_chunk_size = \"lots\"\n" + self.node)
        self.fails_with_one_line("node", node, "max_chunk_size")
        node = self.write("n2.toml", self.node + "\n[[tenant]]\nname = \"g\"\n"
                          "token_sha256 = \"ABC\"\n")
        self.fails_with_one_line("node", node, "token_sha256")
        gw = self.write("g1.toml", "multipart_expiry = \"soon\"\n" + self.gateway)
        self.fails_with_one_line("gateway", gw, "multipart_expiry")
        gw = self.write("g2.toml", self.gateway.replace("k = 4", "k = 0"))
        self.fails_with_one_line("gateway", gw, "erasure")

    def test_unreadable_key_file(self):
        # A folder where the file should be: unreadable even for root.
        os.mkdir(self.path("folder"))
        key = self.path("node/node.key")
        node = self.write("n.toml", self.node.replace('key = "%s"' % key,
                                                      'key = "%s"' % self.path("folder")))
        self.fails_with_one_line("node", node, "tls.key", self.path("folder"))
        node = self.write("n2.toml", self.node.replace('key = "%s"' % key,
                                                       'key = "%s"' % self.path("none")))
        self.fails_with_one_line("node", node, "tls.key", self.path("none"))
        gw = self.write("g.toml", self.gateway.replace(self.path("gw/master.key"),
                                                       self.path("folder")))
        self.fails_with_one_line("gateway", gw, "key_file", self.path("folder"))


if __name__ == "__main__":
    unittest.main()
