"""`/metrics`: request counts and latency by route template, database gauges, Cronofy."""

from __future__ import annotations

import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.errors import CalendarError, CalendarUnavailable
from integrations.cronofy.client import CronofyClient
from integrations.ops.cronofy_hooks import instrument_cronofy, path_template
from integrations.ops.metrics import METRICS, Metrics
from tests.fakes.mock_slack import MockSlack
from tests.support import RunningCalbot, free_port, running_calbot


async def _scrape(calbot: RunningCalbot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{calbot.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def _value(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_requests_are_counted_by_route_template_never_by_url(
    calbot: RunningCalbot,
) -> None:
    token = "Zk3QnV8s1pXyT0aLmB7cR2dE9fG4hJ6k"
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{calbot.url}/connect/{token}")).status_code == 404
        assert (await http.get(f"{calbot.url}/healthz")).status_code == 200
        assert (await http.get(f"{calbot.url}/no/such/page")).status_code == 404
        raw = (await http.get(f"{calbot.url}/metrics")).text
    assert token not in raw and "/no/such/page" not in raw
    samples = await _scrape(calbot)
    total = "calbot_http_requests_total"
    assert _value(samples, total, method="GET", route="/connect/{token}", status="404") == 1
    assert _value(samples, total, method="GET", route="/healthz", status="200") == 1
    assert _value(samples, total, method="GET", route="unmatched", status="404") == 1
    count = "calbot_http_request_duration_seconds_count"
    assert _value(samples, count, method="GET", route="/healthz") == 1


async def test_ack_latency_is_recorded_for_the_chat_endpoints(db_url: str) -> None:
    async with (
        MockSlack.running() as slack,
        running_calbot(
            db_url,
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET="signing-secret",
            SLACK_API_URL=slack.api_url,
        ) as calbot,
    ):
        async with httpx.AsyncClient() as http:
            unsigned = await http.post(f"{calbot.url}/slack/events", content=b"{}")
            assert unsigned.status_code in (401, 415)  # unsigned, and not a Slack content type
            await http.post(f"{calbot.url}/api/messages", json={})
        samples = await _scrape(calbot)
    count = "calbot_http_request_duration_seconds_count"
    assert _value(samples, count, method="POST", route="/slack/events") == 1
    assert _value(samples, count, method="POST", route="/api/messages") == 1
    le3 = _value(
        samples,
        "calbot_http_request_duration_seconds_bucket",
        method="POST",
        route="/slack/events",
        le="3.0",
    )
    assert le3 == 1, "Slack's 3 s ack deadline is a bucket boundary"


async def test_outbox_and_connection_gauges_come_from_the_database(
    calbot: RunningCalbot,
) -> None:
    samples = await _scrape(calbot)
    assert _value(samples, "calbot_outbox_pending") == 0
    assert _value(samples, "calbot_outbox_oldest_pending_age_seconds") == 0
    assert _value(samples, "calbot_calendar_connections", state="connected") == 0

    await calbot.session("bob").say("/calendar connect")  # queued, not delivered yet
    samples = await _scrape(calbot)
    assert _value(samples, "calbot_outbox_pending") == 1
    assert (_value(samples, "calbot_outbox_oldest_pending_age_seconds") or 0) >= 0

    await calbot.settle()
    await calbot.connect_calendar("alice")
    samples = await _scrape(calbot)
    assert _value(samples, "calbot_outbox_pending") == 0
    assert _value(samples, "calbot_calendar_connections", state="connected") == 1
    assert _value(samples, "calbot_calendar_connections", state="revoked") == 0


async def test_cronofy_calls_are_timed_by_path_template(calbot: RunningCalbot) -> None:
    await calbot.connect_calendar("alice")
    samples = await _scrape(calbot)
    timed = _value(
        samples, "calbot_cronofy_request_duration_seconds_count", method="POST", path="/oauth/token"
    )
    assert timed is not None and timed >= 1
    paths = {dict(labels).get("path") for (name, labels) in samples if "cronofy" in name}
    assert all(p is None or "{id}" in p or re.fullmatch(r"[/a-z0-9_]+", p) for p in paths)


async def test_cronofy_network_errors_and_http_errors_are_counted() -> None:
    metrics = Metrics()
    client = CronofyClient(
        client_id="x",
        client_secret="y",
        api_url=f"http://127.0.0.1:{free_port()}",
        max_attempts=1,
        timeout=2,
    )
    assert instrument_cronofy(client, metrics) is True
    assert instrument_cronofy(client, metrics) is False, "instrumenting twice is a no-op"
    with pytest.raises(CalendarUnavailable):
        await client.userinfo("token")
    await client.aclose()
    errors = metrics.registry.get_sample_value(
        "calbot_cronofy_errors_total", {"method": "GET", "path": "/v1/userinfo", "kind": "network"}
    )
    assert errors == 1


async def test_cronofy_refusals_count_as_errors(calbot: RunningCalbot) -> None:
    metrics: Metrics = calbot.runtime.web[METRICS]
    with pytest.raises(CalendarError):
        await calbot.runtime.calendar.refresh("not-a-refresh-token")
    value = metrics.registry.get_sample_value(
        "calbot_cronofy_errors_total", {"method": "POST", "path": "/oauth/token", "kind": "4xx"}
    )
    assert value == 1


def test_path_templates_drop_identifiers() -> None:
    assert path_template("/v1/channels/chn_54794b98b2") == "/v1/channels/{id}"
    assert path_template("/v1/calendars/cal_n23kjnwrw2%40x/events") == "/v1/calendars/{id}/events"
    assert path_template("/oauth/token") == "/oauth/token"
    assert path_template("/v1/free_busy") == "/v1/free_busy"


async def test_open_incidents_come_from_a_wired_callback(calbot: RunningCalbot) -> None:
    assert _value(await _scrape(calbot), "calbot_consent_incidents_open") == 0
    metrics: Metrics = calbot.runtime.web[METRICS]

    async def three() -> int:
        return 3

    metrics.open_incidents_source = three
    assert _value(await _scrape(calbot), "calbot_consent_incidents_open") == 3


async def test_a_failing_probe_is_counted_and_the_scrape_still_answers(
    calbot: RunningCalbot,
) -> None:
    metrics: Metrics = calbot.runtime.web[METRICS]

    async def broken(_metrics: Metrics) -> None:
        raise ConnectionError("database went away")

    metrics.add_probe("broken", broken)
    samples = await _scrape(calbot)
    assert _value(samples, "calbot_metrics_probe_errors_total", probe="broken") == 1


async def test_each_runtime_has_its_own_registry(calbot: RunningCalbot) -> None:
    async with running_calbot(calbot.runtime.settings.DATABASE_URL) as other:
        async with httpx.AsyncClient() as http:
            await http.get(f"{other.url}/healthz")
        mine = await _scrape(calbot)
    healthz = "calbot_http_requests_total"
    assert _value(mine, healthz, method="GET", route="/healthz", status="200") is None
    assert calbot.runtime.web[METRICS] is not other.runtime.web[METRICS]
