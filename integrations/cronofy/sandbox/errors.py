"""Cronofy's 422 answer: an ``errors`` map of parameter name → ``[{key, description}]``."""

from __future__ import annotations

from aiohttp import web

Errors = dict[str, list[dict[str, str]]]


class Unprocessable(Exception):
    """A request body breaks a rule; ``errors`` is the map Cronofy would answer with."""

    def __init__(self, errors: Errors) -> None:
        self.errors = errors
        super().__init__(f"unprocessable: {sorted(errors)}")

    def response(self) -> web.Response:
        return web.json_response({"errors": self.errors}, status=422)


class Collector:
    """Accumulates errors so one 422 names everything wrong with a body."""

    def __init__(self) -> None:
        self.errors: Errors = {}

    def add(self, where: str, key: str, description: str) -> None:
        self.errors.setdefault(where, []).append(
            {"key": f"errors.{key}", "description": description}
        )

    def raise_if_any(self) -> None:
        if self.errors:
            raise Unprocessable(self.errors)
