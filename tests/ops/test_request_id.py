"""Request ids: taken or made, echoed on every answer, present in every log line."""

from __future__ import annotations

import io
import json
import logging
import re

import httpx
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from integrations.logging import configure_logging
from integrations.ops.request_id import HEADER, request_id_middleware
from tests.support import RunningCalbot


async def test_a_given_id_is_echoed_and_a_missing_one_is_made(calbot: RunningCalbot) -> None:
    async with httpx.AsyncClient() as http:
        given = await http.get(f"{calbot.url}/healthz", headers={HEADER: "lb-7f3a.42"})
        made = await http.get(f"{calbot.url}/healthz")
        forged = await http.get(f"{calbot.url}/healthz", headers={HEADER: 'x" level="critical'})
        unmatched = await http.get(f"{calbot.url}/nope")
    assert given.headers[HEADER] == "lb-7f3a.42"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers[HEADER])
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers[HEADER]), "unsafe ids are replaced"
    assert unmatched.status_code == 404 and HEADER in unmatched.headers


async def test_redirects_raised_by_handlers_carry_the_id(calbot: RunningCalbot) -> None:
    session = calbot.session("alice")
    await session.say("/calendar connect")
    await calbot.settle()
    link = session.last_dm().message.buttons()[0].url
    assert link
    async with httpx.AsyncClient(follow_redirects=False) as http:
        response = await http.get(link, headers={HEADER: "req-1"})
    assert response.status_code == 302
    assert response.headers[HEADER] == "req-1"


async def test_log_lines_written_during_a_request_carry_its_id() -> None:
    async def handler(_request: web.Request) -> web.Response:
        logging.getLogger("calbot.test").info("handling it")
        return web.Response(text="ok")

    app = web.Application(middlewares=[request_id_middleware])
    app.router.add_get("/", handler)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        configure_logging("INFO")
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/", headers={HEADER: "trace-99"})
            assert response.headers[HEADER] == "trace-99"
        logging.getLogger("calbot.test").info("after the request")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    during = next(line for line in lines if line["event"] == "handling it")
    after = next(line for line in lines if line["event"] == "after the request")
    assert during["request_id"] == "trace-99"
    assert "request_id" not in after, "the binding ends with the request"
