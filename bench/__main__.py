"""`make bench`: run every benchmark module under bench/ that defines `main()`."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    found = [
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    ]
    if not found:
        print("no benchmarks yet")
        return 0
    for name in sorted(found):
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name} ==")
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
