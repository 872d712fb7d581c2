"""A counting SMTP sink in its own process, for the delivery benchmark.

    python -m benchmarks.counting_sink PORT REPORT_FILE

It counts every message per recipient and every distinct Message-ID (so duplicates and missing digests are
counted where they arrive), writes a running total to ``REPORT.count`` and the whole report as JSON on SIGTERM.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


# --------------------------------------------------------------------------------------------------
# The counting sink (runs in its own process: python -m benchmarks.counting_sink PORT FILE)
# --------------------------------------------------------------------------------------------------


def sink_main(port: int, report: Path) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    counts: Counter = Counter()
    ids: Counter = Counter()

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            for rcpt in envelope.rcpt_tos:
                counts[rcpt] += 1
            found = _MESSAGE_ID.search(envelope.content[:4000])
            if found:
                ids[found.group(1).decode()] += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))

    def write() -> None:
        tmp = report.with_suffix(".tmp")
        tmp.write_text(json.dumps({"total": sum(counts.values()), "counts": dict(counts), "ids": len(ids)}))
        tmp.replace(report)

    print("sink ready", flush=True)
    while not stop["now"]:
        report.with_suffix(".count").write_text(str(sum(counts.values())))
        time.sleep(0.2)
    controller.stop()
    write()
    del asyncio


class Sink:
    def __init__(self, folder: Path, name: str) -> None:
        from digest.mailsink import free_port

        self.port = free_port()
        self.report = folder / f"{name}.json"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.counting_sink", str(self.port), str(self.report)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if "sink ready" not in self.process.stdout.readline():
            raise RuntimeError("the SMTP sink did not start")

    def count(self) -> int:
        try:
            return int(self.report.with_suffix(".count").read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def close(self) -> dict:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return json.loads(self.report.read_text())


if __name__ == "__main__":
    sink_main(int(sys.argv[1]), Path(sys.argv[2]))
