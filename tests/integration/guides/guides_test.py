#!/usr/bin/env python3
"""The guides, executed (issue 20): docs/provider-guide.md, then docs/group-guide.md, every
command block run verbatim in the order given, each on the "host" its annotation names, so a
guide can never drift from the program.

Hosts are network namespaces on one bridge (as deploy/netns-demo.sh), each with a mount
namespace of its own over /etc (a copy: users, /etc/hosts naming every host, systemd units),
/var/lib, /usr/local/bin (holding the mosaic under test) and /mnt (a USB stick), so two
providers can both use /var/lib/mosaic/node. A block runs as root in `bash -e -o pipefail`
in the host's work folder (the Mosaic source: deploy/ is there); shell variables carry from
one block to the next on the same host. sudo, systemctl and journalctl are test doubles
(tests/integration/guides/bin): the machines run no systemd and have no sudo.

Annotations, HTML comments the reader does not see, on the line before a block's fence:
  <!-- run: HOST -->             run it on HOST (gateway, app, coop-a, ...)
  <!-- run: each provider -->    run it on every provider's host, "coop-a" in the block
                                 replaced by that provider's name
  <!-- not run: REASON -->       an example of output, a config excerpt, a build step
and on a line of their own:
  <!-- carry: HOST:PATH to HOST:PATH -->  a file handed over (an invite sent privately)
  <!-- wait: backup -->          wait (at most 240 s) until the gateway's metadata backup
                                 covers every write so far, as an operator waits for it
  <!-- lose: HOST -->            the machine is lost: its processes are killed and it comes
                                 back empty at the same address; its USB stick (/mnt) is kept
A block without an annotation fails the test, and so does a failing command.

Needs root (network namespaces), Debian's awscli, jq and curl; fails without them. Run with
/usr/bin/python3; MOSAIC_BINARY names the executable (set by CTest).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin")
BINARY = os.environ.get("MOSAIC_BINARY", "")
# MOSAIC_GUIDES (space-separated) runs fewer guides, e.g. while writing one.
GUIDES = os.environ.get("MOSAIC_GUIDES", "docs/provider-guide.md docs/group-guide.md").split()
PROVIDERS = ("coop-a", "coop-b", "coop-c", "coop-d", "coop-e", "coop-f", "coop-g")
# Namespaces carry the runner's pid: two runs on one machine do not meet, and the ones a
# killed run left behind are recognised and removed.
PREFIX = "mosaic-guide-%d-" % os.getpid()
HOSTS = {"gateway": "10.78.0.10", "app": "10.78.0.20"}
HOSTS.update({p: "10.78.0.%d" % (31 + i) for i, p in enumerate(PROVIDERS)})
NAMES = {"gateway": "s3.example.org", "app": "app.example.org"}
NAMES.update({p: "node1.%s.example.org" % p for p in PROVIDERS})
PATH = BIN + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ANNOTATION = re.compile(r"^\s*<!--\s*(run|not run|carry|wait|lose):\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
SANITIZER_OPTIONS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS")


def parse(path):
    """The steps of a guide in order: (kind, argument, block text, line number)."""
    with open(os.path.join(ROOT, path)) as f:
        lines = f.read().splitlines()
    steps, pending, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        m = ANNOTATION.match(line)
        if m and m.group(1) in ("carry", "wait", "lose"):
            steps.append((m.group(1), m.group(2), "", i + 1))
        elif m:
            pending = (m.group(1), m.group(2), i + 1)
        f = FENCE.match(line)
        if f:
            indent, start = f.group(1), i + 1
            i += 1
            body = []
            while i < len(lines) and not FENCE.match(lines[i]):
                body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            if pending is None:
                raise AssertionError("%s:%d: a block with no <!-- run: HOST --> or "
                                     "<!-- not run: REASON --> before it" % (path, start))
            steps.append((pending[0], pending[1], "\n".join(body) + "\n", start))
            pending = None
        elif line.strip() and not m:
            pending = None
        i += 1
    return steps


def expand(steps):
    """"each provider" steps, once per provider with coop-a replaced by its name."""
    out = []
    for kind, arg, text, line in steps:
        if "each provider" not in arg:
            out.append((kind, arg, text, line))
            continue
        for p in PROVIDERS:
            out.append((kind, arg.replace("each provider", p).replace("coop-a", p),
                        text.replace("coop-a", p), line))
    return out


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


class Hosts:
    """The network and the hosts' folders; `run` executes a script on one host."""

    def __init__(self, work):
        self.work = work
        os.chmod(work, 0o755)  # the mosaic user reads files in a host's work folder

    @staticmethod
    def namespaces(prefix=PREFIX):
        out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        return [l.split()[0] for l in out.splitlines() if l.startswith(prefix)]

    @staticmethod
    def remove_stale():
        """Namespaces (and their processes) of runs whose runner is dead."""
        for ns in Hosts.namespaces("mosaic-guide-"):
            pid = ns.split("-")[2]
            if pid.isdigit() and not os.path.exists("/proc/" + pid):
                for p in subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                        text=True).stdout.split():
                    subprocess.run(["kill", "-KILL", p], capture_output=True)
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def up(self):
        net = PREFIX + "net"
        sh("ip", "netns", "add", net)
        sh("ip", "-n", net, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", net, "link", "set", "br0", "up")
        for i, (host, addr) in enumerate(HOSTS.items()):
            ns = PREFIX + host
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "link", "add", "vg-%d" % i, "netns", net, "type", "veth", "peer", "name",
               "eth0", "netns", ns)
            sh("ip", "-n", net, "link", "set", "vg-%d" % i, "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            self.fresh(host)

    def dir(self, host, sub=""):
        return os.path.join(self.work, host, sub)

    def fresh(self, host):
        """An empty machine: a copy of /etc, nothing in /var/lib, mosaic installed."""
        for sub in ("etc", "varlib", "localbin", "src", "state"):
            shutil.rmtree(self.dir(host, sub), ignore_errors=True)
        os.makedirs(self.dir(host, "mnt/usb"), exist_ok=True)
        sh("cp", "-a", "/etc", self.dir(host, "etc"))
        os.makedirs(self.dir(host, "etc/systemd/system"), exist_ok=True)
        with open(self.dir(host, "etc/hosts"), "a") as f:
            f.write("".join("%s %s\n" % (HOSTS[h], NAMES[h]) for h in HOSTS))
        for sub in ("varlib", "localbin", "src", "state"):
            os.makedirs(self.dir(host, sub))
        os.chmod(self.dir(host, "state"), 0o700)
        os.symlink(os.path.abspath(BINARY), self.dir(host, "localbin/mosaic"))
        os.symlink(os.path.join(ROOT, "deploy"), self.dir(host, "src/deploy"))
        os.makedirs(self.dir(host, "src/build"))
        os.symlink(os.path.abspath(BINARY), self.dir(host, "src/build/mosaic"))

    def run(self, host, script, timeout):
        """Runs `script` on `host`; returns the CompletedProcess."""
        d = self.dir(host)
        body = os.path.join(d, "state", "block.sh")
        with open(body, "w") as f:
            f.write('__vars=$(compgen -v)\n. "$GUIDE_STATE/vars" 2>/dev/null || true\n'
                    "__save() { for v in $(compgen -v); do\n"
                    '  case " $__vars __vars " in *" $v "*) continue ;; esac\n'
                    '  declare -p "$v" 2>/dev/null; done >"$GUIDE_STATE/vars"; }\n'
                    "trap __save EXIT\n" + script)
        enter = ("mount --bind {d}etc /etc && mount --bind {d}varlib /var/lib && "
                 "mount --bind {d}localbin /usr/local/bin && mount --bind {d}mnt /mnt && "
                 "cd {d}src && exec bash -e -o pipefail {b}").format(d=d, b=body)
        env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "GUIDE_STATE": d + "state",
               "TERM": "dumb"}
        # The sanitizer lane's options (deploy/sanitize.sh): reports into its folder.
        env.update({k: v for k, v in os.environ.items() if k in SANITIZER_OPTIONS})
        return subprocess.run(["ip", "netns", "exec", PREFIX + host, "unshare", "--mount",
                               "--propagation", "private", "bash", "-c", enter],
                              env=env, capture_output=True, text=True, timeout=timeout)

    def kill(self, host):
        """SIGTERM then SIGKILL (after 15 s) to every process in the host's namespace."""
        ns = PREFIX + host
        pids = lambda: subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                      text=True).stdout.split()
        subprocess.run(["kill", "-TERM"] + pids(), capture_output=True)
        for _ in range(150):
            if not pids():
                return
            time.sleep(0.1)
        subprocess.run(["kill", "-KILL"] + pids(), capture_output=True)
        time.sleep(0.2)

    def down(self):
        for ns in self.namespaces():
            if ns != PREFIX + "net":
                self.kill(ns[len(PREFIX):])
        for ns in self.namespaces():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class GuidesTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.fail("the guides test needs root (network and mount namespaces)")
        for tool in ("/usr/bin/aws", "/usr/bin/jq", "/usr/bin/curl", "/usr/bin/ip"):
            if not os.access(tool, os.X_OK):
                self.fail("%s is missing (deploy/install-deps.sh installs it)" % tool)
        if not BINARY or not os.access(BINARY, os.X_OK):
            self.fail("MOSAIC_BINARY is not set to the mosaic executable")
        Hosts.remove_stale()
        self.hosts = Hosts(tempfile.mkdtemp(prefix="mosaic-guides-"))
        self.addCleanup(shutil.rmtree, self.hosts.work, ignore_errors=True)
        self.addCleanup(self.hosts.down)
        self.hosts.up()
        self.transcript = []

    def step(self, kind, arg, text, where):
        if kind == "not run":
            return
        if kind == "run":
            r = self.hosts.run(arg, text, timeout=600)
            self.transcript.append("[%s] %s\n%s%s" % (arg, where, r.stdout, r.stderr))
            self.assertEqual(r.returncode, 0, "%s on %s failed (exit %d):\n%s\n%s"
                             % (where, arg, r.returncode, text, "\n".join(self.transcript)[-6000:]))
        elif kind == "carry":
            src, dst = [s.split(":", 1) for s in arg.split(" to ")]
            dst_path = self.hosts.dir(dst[0], self.local(dst[1]))
            os.makedirs(os.path.dirname(dst_path), exist_ok=True)
            shutil.copy(self.hosts.dir(src[0], self.local(src[1])), dst_path)
        elif kind == "lose":
            self.hosts.kill(arg)
            self.hosts.fresh(arg)
        elif kind == "wait":
            self.wait_for_backup(where)

    @staticmethod
    def local(path):
        """A host's path as a path under its folder: /var/lib/x -> varlib/x, x -> src/x."""
        for prefix, sub in (("/mnt/", "mnt/"), ("/etc/", "etc/"), ("/var/lib/", "varlib/")):
            if path.startswith(prefix):
                return sub + path[len(prefix):]
        return os.path.join("src", path)

    def wait_for_backup(self, where):
        since = int(time.time() * 1000)
        deadline = time.time() + 240
        while time.time() < deadline:
            r = self.hosts.run("gateway", "mosaic status --json --config "
                               "/var/lib/mosaic/gateway/gateway.toml\n", timeout=60)
            if r.returncode == 0 and (json.loads(r.stdout).get("backup") or {}).get(
                    "covered_ms", 0) > since:
                return
            time.sleep(3)
        self.fail("%s: the metadata backup did not cover the writes in 240 s" % where)

    def test_guides_run_verbatim_in_order(self):
        steps = []
        for guide in GUIDES:
            steps += [(k, a, t, "%s:%d" % (guide, n)) for k, a, t, n in expand(parse(guide))]
        ran = [s for s in steps if s[0] == "run"]
        self.assertGreater(len(ran), 10, "the guides have hardly any block marked to run")
        for kind, arg, text, where in steps:
            self.step(kind, arg, text, where)
        print("\n".join(self.transcript)[-3000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
