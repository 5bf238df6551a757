"""Where the server's time goes during batch ingest: py-spy samples the running server (as
the bench runs it) while clients send batches, then prints the hottest functions, self and
inclusive. `make profile`; needs py-spy (dev dependency) and permission to ptrace the server.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from ingest_bench import _fresh_database, _server_url
from server_bench import batch_ingest, running_server

from store.db import migrate


def _summarise(collapsed: Path, top: int) -> str:
    """Top frames by self and by inclusive samples from py-spy's collapsed-stack output."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"{samples} samples of the server's threads"]
    for title, counter in (("self", own), ("inclusive", total)):
        lines.append(f"\ntop {top} by {title} time:")
        lines += [f"  {100 * n / samples:5.1f}%  {frame}" for frame, n in counter.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    server_url, pg, _ = _server_url()
    try:
        url = _fresh_database(server_url)
        migrate(url)
        out = Path(tempfile.mkdtemp()) / "ingest.collapsed"
        with running_server(url, 1_000) as server:
            spy = subprocess.Popen(
                [
                    shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy",
                    "record",
                    "--pid",
                    str(server.process.pid),
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--rate",
                    "200",
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            load = threading.Thread(
                target=batch_ingest, args=(server, args.events, 1_000, args.clients)
            )
            load.start()
            load.join()
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
            spy.wait(timeout=60)
        print(_summarise(out, args.top))
    finally:
        if pg is not None:
            pg.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
