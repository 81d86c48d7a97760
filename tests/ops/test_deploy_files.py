"""Dockerfile, docker-compose.yml and DEPLOY.md, checked by reading them (no Docker here)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Any

import yaml

from bot.settings import load_settings
from tests.ops.support import ROOT


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, rest = full.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    assert not pending, "a continuation runs off the end of the file"
    return result


def _dockerfile() -> list[tuple[str, str]]:
    return _instructions((ROOT / "Dockerfile").read_text())


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _interpolate(value: str) -> str:
    """Compose's `${VAR:-default}` with nothing set: the defaults."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_dockerfile_builds_a_slim_non_root_image_that_serves() -> None:
    steps = _dockerfile()
    keywords = [k for k, _ in steps]
    assert keywords[0] == "FROM" and steps[0][1] == "python:3.11-slim"

    users = [arg for k, arg in steps if k == "USER"]
    assert users and users[-1] not in {"root", "0", "0:0"}
    assert keywords.index("USER") < keywords.index("CMD")

    [healthcheck] = [arg for k, arg in steps if k == "HEALTHCHECK"]
    assert "CMD" in healthcheck and "/healthz" in healthcheck and "--timeout=" in healthcheck

    [cmd] = [arg for k, arg in steps if k == "CMD"]
    assert json.loads(cmd) == ["python", "app.py", "serve"]

    runs = " ".join(arg for k, arg in steps if k == "RUN")
    assert "pip install ." in runs


def test_dockerfile_copies_the_whole_distribution_and_no_secrets() -> None:
    copied: set[str] = set()
    for keyword, arg in _dockerfile():
        if keyword == "COPY":
            *sources, _dest = shlex.split(arg)
            copied.update(s.rstrip("/") for s in sources if not s.startswith("--"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    modules = {f"{m}.py" for m in project["tool"]["setuptools"]["py-modules"]}
    assert packages | modules | {"pyproject.toml", project["project"]["readme"]} <= copied
    assert all((ROOT / c).exists() for c in copied)
    assert not any(".env" in c for c in copied)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".sandbox-key", ".git", ".venv", "*.db"} <= set(ignored)


def test_compose_runs_calbot_after_a_one_shot_migration_on_postgres_16() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "calbot"}

    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])

    migrate = services["migrate"]
    assert migrate["command"] == ["python", "app.py", "db", "upgrade"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"

    calbot = services["calbot"]
    assert calbot["command"] == ["python", "app.py", "serve"]
    assert calbot["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert "/healthz" in " ".join(calbot["healthcheck"]["test"])
    assert calbot["ports"] == ["3000:3000"]

    for name in ("migrate", "calbot"):
        service = services[name]
        assert service["env_file"] == ".env" and service["build"] == "."
        assert service["environment"]["PORT"] == "3000"
    assert "pgdata" in compose["volumes"]


def test_compose_database_url_is_one_calbot_accepts() -> None:
    env = _compose()["services"]["calbot"]["environment"]
    url = _interpolate(env["DATABASE_URL"])
    assert url == "postgresql+asyncpg://calbot:calbot@postgres:5432/calbot"
    settings = load_settings(DATABASE_URL=url, PORT=env["PORT"], _env_file=None)
    assert settings.DATABASE_URL == url and settings.PORT == 3000


def test_deploy_guide_covers_the_operator_questions() -> None:
    text = (ROOT / "DEPLOY.md").read_text()
    for needle in (
        "FOR UPDATE SKIP LOCKED",
        "processed_events",
        "Socket Mode",
        "TOKEN_ENCRYPTION_KEY=NEW,OLD",
        "python app.py keys rotate",
        "pg_dump",
        "useless without the encryption key",
        "/healthz",
        "/readyz",
        "/metrics",
        "X-Request-Id",
        "python app.py doctor",
    ):
        assert needle in text, needle
