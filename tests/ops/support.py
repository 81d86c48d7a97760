"""Helpers for the operations tests: run `app.py` as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_OURS = ("SLACK_", "MICROSOFT_", "CRONOFY_", "CALBOT_")
_PLAIN = {"DATABASE_URL", "TOKEN_ENCRYPTION_KEY", "PUBLIC_BASE_URL", "PORT"}


def run_app(
    args: list[str], cwd: Path, *, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python app.py ARGS` in `cwd` (no .env there) with only the given calbot settings."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(_OURS) and k not in _PLAIN
    }
    environment.update(env)
    environment["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=environment,
        check=False,
    )
