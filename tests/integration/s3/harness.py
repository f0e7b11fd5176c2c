"""Shared harness for the S3 gateway integration tests (issue 5).

Starts the real `mosaic dev --dir TMP --port 0` (6 `mosaic node` processes and one
`mosaic gateway`), waits for DIR/dev.env by bounded polling, and stops it with SIGTERM.
The binary comes from the MOSAIC_BINARY environment variable (set by CTest).
MOSAIC_TEST_DEV_ARGS adds `mosaic dev` arguments to every system: CTest's *_pg tests run
the same modules with "--metadata postgresql" (issue 17).
Run with /usr/bin/python3 (Debian's python3-boto3).
"""

import hashlib
import http.cookiejar
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

BINARY = os.environ.get("MOSAIC_BINARY", "")


def poll(predicate, timeout_s=30.0, interval_s=0.05, what="condition"):
    """Calls predicate until it returns a truthy value; raises after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(interval_s)


def read_env_file(path):
    env = {}
    try:
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    env[k] = v
    except FileNotFoundError:
        return None
    keys = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION")
    return env if all(env.get(k) for k in keys) else None


class DevSystem:
    """One `mosaic dev` process tree in its own temporary folder."""

    def __init__(self, directory=None, dev_args=()):
        if not BINARY or not os.access(BINARY, os.X_OK):
            raise unittest.SkipTest("MOSAIC_BINARY is not set to the mosaic executable")
        self.owns_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="mosaic-s3-it-")
        self.proc = None
        self.extra = []  # processes we started ourselves (a restarted gateway)
        # more `mosaic dev` arguments (--providers 7, …), and those of the environment
        self.dev_args = list(dev_args) + shlex.split(os.environ.get("MOSAIC_TEST_DEV_ARGS", ""))

    def start(self):
        for name in ("dev.env", "dev.json"):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass
        self.log = open(os.path.join(self.dir, "dev.out"), "ab")
        self.proc = subprocess.Popen([BINARY, "dev", "--dir", self.dir, "--port", "0"]
                                     + self.dev_args,
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("mosaic dev exited with %d; see %s/dev.out"
                                   % (self.proc.returncode, self.dir))
            return read_env_file(os.path.join(self.dir, "dev.env"))

        self.env = poll(ready, 60, what="dev.env")
        with open(os.path.join(self.dir, "dev.json")) as f:
            self.description = json.load(f)
        self.endpoint = self.env["AWS_ENDPOINT_URL"]
        return self

    def stop(self):
        for p in self.extra:
            terminate(p, 30)
        self.extra = []
        if self.proc:
            terminate(self.proc, 60)
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- the processes ------------------------------------------------------------------

    def processes(self, role):
        return [p for p in self.description["processes"] if p["role"] == role]

    @property
    def gateway(self):
        return self.processes("gateway")[0]

    @property
    def host_port(self):
        host, port = self.endpoint.split("//", 1)[1].split(":")
        return host, int(port)

    def metrics(self):
        """The gateway's /metrics on its admin address, as {series: value}."""
        url = "http://%s/metrics" % self.gateway["admin"]
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def alive(self):
        """True when the gateway answers an S3 request (an anonymous one gets a 403)."""
        try:
            with socket.create_connection(self.host_port, timeout=10) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                return recv_all(s).startswith(b"HTTP/1.1 ")
        except OSError:
            return False

    def restart_gateway(self):
        """Kills the gateway (SIGKILL) and starts `mosaic gateway` again on its config."""
        gw = self.gateway
        os.kill(gw["pid"], signal.SIGKILL)
        # Its locks (RocksDB's LOCK file) go with it; `mosaic dev` reaps it later.
        poll(lambda: not process_running(gw["pid"]), 30, what="the old gateway to die")
        for name in ("s3.addr", "admin.addr", "console.addr"):
            try:
                os.unlink(os.path.join(gw["dir"], name))
            except FileNotFoundError:
                pass
        log = open(os.path.join(gw["dir"], "gateway-restart.log"), "ab")
        p = subprocess.Popen([BINARY, "gateway", "--config", gw["config"]],
                             stdout=log, stderr=subprocess.STDOUT)
        self.extra.append(p)

        def addr(name):
            path = os.path.join(gw["dir"], name)
            if p.poll() is not None:
                with open(os.path.join(gw["dir"], "gateway-restart.log"), "rb") as f:
                    raise RuntimeError("restarted gateway exited with %d: %s"
                                       % (p.returncode, f.read()[-2000:]))
            if os.path.exists(path):
                with open(path) as f:
                    return f.readline().strip() or None
            return None

        s3 = poll(lambda: addr("s3.addr"), 30, what="gateway s3.addr")
        admin = poll(lambda: addr("admin.addr"), 30, what="gateway admin.addr")
        console = addr("console.addr")  # written before s3.addr when the console is on
        if console and self.env.get("MOSAIC_CONSOLE_URL"):  # its port is picked again too
            scheme = self.env["MOSAIC_CONSOLE_URL"].split("//", 1)[0]
            self.env["MOSAIC_CONSOLE_URL"] = "%s//%s/" % (scheme, console)
        self.endpoint = "http://" + s3
        gw["pid"], gw["address"], gw["admin"] = p.pid, s3, admin

    def kill_node(self, node, destroy=False):
        """SIGKILLs a node process (a processes("node") entry); destroy also deletes its
        data folder, as when a provider is gone for good."""
        os.kill(node["pid"], signal.SIGKILL)
        poll(lambda: not process_running(node["pid"]), 30, what="node %s to die" % node["id"])
        if destroy:
            shutil.rmtree(node["dir"])

    def start_node(self, node_id, provider, quota=None):
        """Starts one more `mosaic node` (the dev tenant and token, plaintext on loopback) in
        DIR/extra/NODE_ID, as a new provider would; returns its process entry (id, provider,
        dir, pid, address). It is not in the gateway's node list until `mosaic node add`.
        `quota` ("100MiB") limits the dev tenant there (set_quota changes it later)."""
        with open(os.path.join(self.dir, ".token")) as f:
            token = f.readline().strip()
        d = os.path.join(self.dir, "extra", node_id)
        os.makedirs(d)
        config = os.path.join(d, "node.toml")
        with open(config, "w") as f:
            f.write('node_id = "%s"\ndata_dir = "%s"\nlisten = "127.0.0.1:0"\n'
                    'metrics_listen = "127.0.0.1:0"\n[tls]\nplaintext = true\n'
                    '[storage]\nsegment_size = "64MiB"\nreserved_free = "64MiB"\n'
                    '[[tenant]]\nname = "dev"\ntoken_sha256 = "%s"\n'
                    % (node_id, d, hashlib.sha256(token.encode()).hexdigest()))
            if quota:
                f.write('quota = "%s"\n' % quota)
        log = open(os.path.join(d, "node.log"), "ab")
        p = subprocess.Popen([BINARY, "node", "--config", config],
                             stdout=log, stderr=subprocess.STDOUT)
        self.extra.append(p)

        def address():
            if p.poll() is not None:
                raise RuntimeError("node %s exited with %d; see %s/node.log"
                                   % (node_id, p.returncode, d))
            path = os.path.join(d, "grpc.addr")
            if os.path.exists(path):
                with open(path) as f:
                    return f.readline().strip() or None
            return None

        addr = poll(address, 30, what="node %s grpc.addr" % node_id)
        node = {"role": "node", "id": node_id, "provider": provider, "dir": d, "pid": p.pid,
                "address": addr, "config": config}
        self.description["processes"].append(node)
        return node

    def set_quota(self, node, quota):
        """Sets the dev tenant's quota of a node start_node started, as a provider would:
        edits its node.toml, then SIGHUP (the node reloads its tenants)."""
        with open(node["config"]) as f:
            lines = [line for line in f.read().splitlines() if not line.startswith("quota = ")]
        with open(node["config"], "w") as f:
            f.write("\n".join(lines) + '\nquota = "%s"\n' % quota)
        os.kill(node["pid"], signal.SIGHUP)

    def mosaic(self, *args, timeout=60):
        """`mosaic ARGS --config <the gateway's config>` (a command against the running
        gateway); returns the CompletedProcess, text mode."""
        return subprocess.run([BINARY, *args, "--config", self.gateway["config"]],
                              capture_output=True, timeout=timeout, text=True)

    def status(self):
        """`mosaic status --json`, parsed."""
        r = self.mosaic("status", "--json")
        if r.returncode != 0:
            raise AssertionError("mosaic status --json failed: " + r.stderr)
        return json.loads(r.stdout)

    def create_key(self, name, grants=()):
        """`mosaic key create NAME [--bucket B --allow R]...`; returns (id, secret)."""
        cmd = [BINARY, "key", "create", name, "--config", self.gateway["config"]]
        for bucket, right in grants:
            cmd += ["--bucket", bucket, "--allow", right]
        out = subprocess.run(cmd, check=True, capture_output=True, timeout=30).stdout
        key = json.loads(out)
        return key["id"], key["secret"]

    # --- clients ------------------------------------------------------------------------

    def client(self, key_id=None, secret=None, **config):
        config.setdefault("retries", {"max_attempts": 1})
        config.setdefault("s3", {"addressing_style": "path"})
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=key_id or self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=secret or self.env["AWS_SECRET_ACCESS_KEY"],
            config=Config(**config))

    def tool_env(self):
        """Environment for CLI tools: the dev credentials and no proxy."""
        env = {k: v for k, v in os.environ.items()
               if "proxy" not in k.lower() and not k.startswith("AWS_")}
        env.update(self.env)
        env["AWS_ENDPOINT_URL"] = self.endpoint
        return env

    def rclone_env(self):
        """tool_env() with an rclone remote named `mosaic` on this system (no config file)."""
        env = self.tool_env()
        env.update({"RCLONE_CONFIG_MOSAIC_TYPE": "s3", "RCLONE_CONFIG_MOSAIC_PROVIDER": "Other",
                    "RCLONE_CONFIG_MOSAIC_ENDPOINT": self.endpoint,
                    "RCLONE_CONFIG_MOSAIC_ACCESS_KEY_ID": self.env["AWS_ACCESS_KEY_ID"],
                    "RCLONE_CONFIG_MOSAIC_SECRET_ACCESS_KEY": self.env["AWS_SECRET_ACCESS_KEY"],
                    "RCLONE_CONFIG_MOSAIC_REGION": "us-east-1", "RCLONE_CONFIG": "/dev/null"})
        return env


class ConsoleSession:
    """A member logged in to the console's JSON API (cookie, Origin and CSRF as the page)."""

    def __init__(self, url, name, password):
        self.api = url.rstrip("/") + "/console/api/v1"
        self.origin = "/".join(url.split("/")[:3])
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            urllib.request.ProxyHandler({}))
        status, me = self.post("/login", {"name": name, "password": password}, csrf=None)
        if status != 200:
            raise AssertionError("console login of %s: %d %s" % (name, status, me))
        self.csrf = me["csrf"]

    def post(self, path, body, csrf=""):
        headers = {"Content-Type": "application/json", "Origin": self.origin}
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf or self.csrf
        req = urllib.request.Request(self.api + path, data=json.dumps(body).encode(),
                                     headers=headers, method="POST")
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def get(self, path):
        with self.opener.open(urllib.request.Request(self.api + path), timeout=30) as r:
            return json.loads(r.read())


def nodes_of(doc):
    """The nodes of a status document by id, each with its provider's name."""
    return {n["id"]: dict(n, provider=p["name"]) for p in doc["providers"] for n in p["nodes"]}


def whole(doc):
    """True when the status document's safety scan is complete, every stripe has all k+m
    shards on reachable nodes and nothing is queued for repair."""
    s = doc["safety"]
    return (s["complete"] and s["stripes"] > 0 and s["healthy"] == s["stripes"]
            and not s["missing"] and s["lost"] == 0
            and doc["backlog"]["repair"]["count"] == 0)


def wait_status(dev, predicate, what, timeout_s=180, check=None):
    """Polls dev.status() until predicate(doc) is true (check(doc), when given, runs on every
    document seen); returns that document. The assertion names the last document seen."""
    last = {}

    def step():
        last["doc"] = dev.status()
        if check:
            check(last["doc"])
        return predicate(last["doc"])

    try:
        poll(step, timeout_s, 0.5, what=what)
    except TimeoutError:
        raise AssertionError("%s; last status: %s" % (what, json.dumps(last.get("doc"))))
    return last["doc"]


def terminate(proc, timeout_s):
    """SIGTERM to a process we started, SIGKILL if it is not gone after timeout_s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def process_running(pid):
    """False once pid is gone, or a zombie whose threads have all exited. The leader of a
    killed process turns zombie before its other threads are gone, and its files (a RocksDB
    LOCK) are released only with the last thread: a restart must wait for that."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                return True
        return len(os.listdir("/proc/%d/task" % pid)) > 1
    except FileNotFoundError:
        return False


def start_reopener(sockets, reopen, closed):
    """Starts a thread that keeps `sockets` open: every 0.5 s (240 rounds at most) each one
    that `closed(s)` says the peer closed is closed and replaced by `reopen(i)`. Returns a
    function that stops the thread and waits for it (bounded)."""
    stop = threading.Event()

    def run():
        for _ in range(240):
            if stop.wait(0.5):
                return
            for i, s in enumerate(sockets):
                if not stop.is_set() and closed(s):
                    s.close()
                    try:
                        sockets[i] = reopen(i)
                    except OSError:
                        pass  # the old one stays closed; the next round tries again

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def finish():
        stop.set()
        thread.join(timeout=120)

    return finish


def round_trips(make_client, bucket, prefix, seconds=20, most=100):
    """PUTs a 100 KB object and GETs it back, each time through a new client (new
    connections, as new clients would open), for up to `seconds` and `most` times. Returns
    how many came back whole; fails the calling test on a wrong body (an exception)."""
    body = pattern(100000, 5)
    deadline = time.monotonic() + seconds
    served = 0
    while time.monotonic() < deadline and served < most:
        client = make_client()
        key = "%s%d" % (prefix, served)
        client.put_object(Bucket=bucket, Key=key, Body=body)
        if client.get_object(Bucket=bucket, Key=key)["Body"].read() != body:
            raise AssertionError("%s/%s read back wrong" % (bucket, key))
        served += 1
    return served


def recv_all(sock, limit=1 << 20):
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def pattern(size, seed):
    """Deterministic, non-repeating-looking bytes of the given size."""
    block = bytes((i * 131 + seed * 17 + (i >> 8)) & 0xFF for i in range(65536))
    reps, rest = divmod(size, len(block))
    return block * reps + block[:rest]


class DevTestCase(unittest.TestCase):
    """A test class sharing one `mosaic dev` system across its tests."""

    dev_args = ()  # more `mosaic dev` arguments for this class's system

    @classmethod
    def setUpClass(cls):
        cls.dev = DevSystem(dev_args=cls.dev_args)
        try:
            cls.dev.start()
        except BaseException:
            cls.dev.cleanup()
            raise
        cls.s3 = cls.dev.client()

    @classmethod
    def tearDownClass(cls):
        cls.dev.cleanup()

    def error_code(self, call, *args, **kwargs):
        """Runs a boto3 call that must fail; returns (S3 error code, HTTP status)."""
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            call(*args, **kwargs)
        e = cm.exception.response
        return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]
