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
              "tests/c.cc": '#include "server/node/store/internal/store_impl.h"\n',
              "server/gateway/jobs/d.cc": '#include "server/gateway/backup/stream.h"\n'
                                          '#include "server/gateway/meta/meta_store.h"\n'
                                          '#include "common/worker.h"\n',
              "server/gateway/status.cc": '#include "server/gateway/node_states.h"\n',
              "server/gateway/job_views.h": '#include "server/gateway/jobs/repairer.h"\n'
                                            '#include "server/gateway/status.h"\n',
              "server/gateway/s3/e.cc": '#include "server/gateway/jobs/repairer.h"\n'})
    assert ok.returncode == 0, ok.stderr
    for bad in ({"server/node/a.cc": '#include "client/client.h"\n'},
                {"common/a.h": '#include "server/node/config.h"\n'},
                {"erasure/a.cc": '#include "common/status.h"\n'},
                {"server/gateway/a.cc": '#include "server/node/store/segment_store.h"\n'},
                {"client/a.cc": '#include "server/node/store/internal/store_impl.h"\n'},
                {"server/gateway/jobs/a.cc": '#include "server/gateway/s3/xml.h"\n'},
                {"server/gateway/jobs/a.h": '#include "server/gateway/s3/handler.h"\n'},
                {"server/gateway/jobs/a.cc": '#include "server/gateway/http/exchange.h"\n'},
                {"server/gateway/backup/a.cc": '#include "server/gateway/jobs/orphan_sweeper.h"\n'},
                {"server/gateway/status.h": '#include "server/gateway/jobs/repairer.h"\n'},
                {"server/gateway/status_document.cc": '#include "server/gateway/jobs/scrubber.h"\n'},
                {"server/gateway/http/a.h": '#include "server/gateway/s3/handler.h"\n'}):
        r = run(bad)
        assert r.returncode == 1, f"accepted {bad}"
        assert "layering:" in r.stderr
    print("ok")


if __name__ == "__main__":
    main()
