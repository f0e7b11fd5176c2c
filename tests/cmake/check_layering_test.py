#!/usr/bin/env python3
"""The layering check must reject wrong-way includes and accept the allowed ones."""
import os
import subprocess
import sys
import tempfile

CHECK = os.path.join(os.path.dirname(__file__), "..", "..", "cmake", "check_layering.py")


def run(files):
    with tempfile.TemporaryDirectory() as root:
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        return subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)


def main():
    ok = run({"server/node/a.cc": '#include "common/status.h"\n#include "proto/mosaic/v1/node.pb.h"\n',
              "client/b.cc": '#include "erasure/codec.h"\n',
              "tests/c.cc": '#include "server/node/store/internal/store_impl.h"\n'})
    assert ok.returncode == 0, ok.stderr
    for bad in ({"server/node/a.cc": '#include "client/client.h"\n'},
                {"common/a.h": '#include "server/node/config.h"\n'},
                {"erasure/a.cc": '#include "common/status.h"\n'},
                {"server/gateway/a.cc": '#include "server/node/store/segment_store.h"\n'},
                {"client/a.cc": '#include "server/node/store/internal/store_impl.h"\n'}):
        r = run(bad)
        assert r.returncode == 1, f"accepted {bad}"
        assert "layering:" in r.stderr
    print("ok")


if __name__ == "__main__":
    main()
