"""Run some of calbot's scheduled jobs once, in step with other instances.

    python -m tests.slow.jobs --ready PATH --go PATH stalled health

Configured from the environment like `python app.py jobs run NAME` (same runtime, same
job registry), with two differences a multi-instance test needs: several jobs run
concurrently in one process (one start-up instead of one per job), and they start only
when the file `--go` appears, after this process has created `--ready`. The test
releases every instance at the same moment, so their claims on the same rows really do
race instead of running one after another as staggered start-ups would make them.
Prints one `NAME: RESULT` line per job; exit status 0 when all ran, 1 on a time-out.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import load_settings
from integrations.runtime import build_runtime


async def run(names: list[str], ready: Path, go: Path, wait: float) -> int:
    runtime = await build_runtime(load_settings())
    try:
        ready.touch()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not go.exists():
            if loop.time() > deadline:
                return 1
            await asyncio.sleep(0.005)
        results = await asyncio.gather(*(runtime.jobs.get(name).run() for name in names))
        for name, result in zip(names, results, strict=True):
            print(f"{name}: {result}", flush=True)
        return 0
    finally:
        await runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--go", type=Path, required=True)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for --go")
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.names, args.ready, args.go, args.wait))


if __name__ == "__main__":
    sys.exit(main())
