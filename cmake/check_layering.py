#!/usr/bin/env python3
"""Fails (exit 1) when a source file includes a folder it must not depend on.

The dependency rules of ../shared/DESIGN.md and docs/architecture.md:
  common, erasure, proto  -> nothing of ours (erasure not even common)
  client                  -> erasure, proto, common
  server/node             -> proto, common           (never client/ or the gateway)
  server/gateway          -> client, proto, common   (never server/node)
  server/*.cc (the executable's wiring), tests, bench -> anything
A folder's internal/ subfolder may be included only from that folder (and tests).
Inside server/gateway/ (FORBIDDEN, docs/architecture.md "Layering inside the gateway"):
  jobs/   -> never s3/ or http/ (the S3 front end depends on the jobs, not the reverse)
  backup/ -> never jobs/ (the backup job uses backup's formats; not the reverse)
  status  -> never jobs/ (job_views.h bridges the two)
  http/   -> never s3/ (HTTP knows no S3: http/exchange.h and s3/handler.h included each other)
Run by the build (target check_layering), so a wrong-way include fails it.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# (folder, allowed include prefixes besides itself)
RULES = [
    ("common/", ["common/"]),
    ("erasure/", ["erasure/"]),
    ("client/", ["client/", "erasure/", "proto/", "common/"]),
    ("server/node/", ["server/node/", "proto/", "common/", "server/commands.h"]),
    ("server/gateway/", ["server/gateway/", "client/", "proto/", "common/", "server/commands.h"]),
]
# (file or folder prefix, include prefixes it must not use): cycles inside server/gateway/.
FORBIDDEN = [
    ("server/gateway/jobs/", ["server/gateway/s3/", "server/gateway/http/"]),
    ("server/gateway/backup/", ["server/gateway/jobs/"]),
    ("server/gateway/status.", ["server/gateway/jobs/"]),
    ("server/gateway/status_document.", ["server/gateway/jobs/"]),
    ("server/gateway/http/", ["server/gateway/s3/"]),
]
OURS = ("common/", "erasure/", "proto/", "client/", "server/", "tests/", "bench/")


def check(rel, text):
    errors = []
    for inc in INCLUDE.findall(text):
        if not inc.startswith(OURS):
            continue
        if "/internal/" in inc:
            owner = inc.split("/internal/")[0] + "/"
            if not rel.startswith(owner) and not rel.startswith(("tests/", "bench/")):
                errors.append(f"{rel}: includes private {inc}")
        for folder, allowed in RULES:
            if rel.startswith(folder) and not inc.startswith(tuple(allowed)):
                errors.append(f"{rel}: {folder} must not include {inc}")
        for prefix, banned in FORBIDDEN:
            if rel.startswith(prefix) and inc.startswith(tuple(banned)):
                errors.append(f"{rel}: {prefix} must not include {inc}")
    return errors


def main():
    errors = []
    for top in ("common", "erasure", "client", "server", "proto", "tests", "bench"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if not name.endswith((".h", ".cc", ".cpp", ".hpp")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, ROOT)
                with open(path, encoding="utf-8", errors="replace") as f:
                    errors += check(rel, f.read())
    for e in errors:
        print("layering: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
