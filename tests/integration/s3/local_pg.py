"""A PostgreSQL server of the test's own (Debian's postgresql-15): initdb into a temporary
folder and pg_ctl start, as `nobody` when we are root (initdb refuses root), on a Unix socket
in that folder only, superuser `mosaic` trusted there. As meta/local_postgres.h does for
`mosaic dev`; a test that needs PostgreSQL fails (not skips) when it is not installed."""

import glob
import os
import shutil
import subprocess
import tempfile
import urllib.parse


def bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): "
                           "deploy/install-deps.sh installs postgresql-15")
    return os.path.dirname(found[-1])


class LocalPostgres:
    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="mosaic-pg-it-")
        os.chmod(self.top, 0o711)  # the server's user enters it to reach its folder
        self.dir = os.path.join(self.top, "pg")
        os.mkdir(self.dir, 0o700)
        self.user = "nobody" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user, "nogroup")
        self.bin = bin_dir()
        self.run("initdb", "-D", self.dir + "/data", "-U", "mosaic", "-A", "trust", "-E",
                 "UTF8", "--locale=C", "--no-sync")
        self.run("pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/postgres.log", "-w",
                 "-t", "60", "-o", "-c listen_addresses='' -k %s -c fsync=off" % self.dir,
                 "start")

    def run(self, tool, *args):
        out = subprocess.run([os.path.join(self.bin, tool), *args], user=self.user,
                             cwd=self.dir, env={"LC_ALL": "C"}, capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (tool, out.stdout, out.stderr))
        return out.stdout

    def psql(self, database, sql):
        return self.run("psql", "-h", self.dir, "-U", "mosaic", "-d", database, "-At", "-c", sql)

    def create_database(self, name):
        self.psql("postgres", "CREATE DATABASE %s" % name)

    def uri(self, name, password=None):
        """postgresql://mosaic[:password]@<socket folder>/name"""
        user = "mosaic" + (":" + password if password else "")
        return "postgresql://%s@%s/%s" % (user, urllib.parse.quote(self.dir, safe=""), name)

    def stop(self):
        try:
            self.run("pg_ctl", "-D", self.dir + "/data", "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.top, ignore_errors=True)
