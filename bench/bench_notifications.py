"""500 signed Cronofy push notifications a second, for 10 s, into calbot's webhook.

Run: `.venv/bin/python -m bench.bench_notifications` (or `make bench`). 127.0.0.1 only;
stops by itself (a fixed number of notifications, per-request timeouts, a deadline).

Set-up, as in production: a real `python app.py serve` process, the world process of
bench_latency (mock Slack and the Cronofy sandbox, answering in 100 ms), and PEOPLE
Slack users who each run `/calendar connect`, open the DMed link and sign in at the
sandbox — so calbot opens one push channel per connection, with its own unguessable
callback key. One of them then loses access at Cronofy without anyone being told.

Load: RATE notifications a second, open loop (each sent at its time whether or not the
earlier ones were answered), spread over the channels, every one HMAC-signed with the
client secret like Cronofy's. Nine in ten are `change` (verified, channel looked up,
accepted); one in ten is `profile_disconnected`, which makes calbot check that
connection at Cronofy before answering.

"All verified and handled, none lost" is checked four ways: every request answered 202;
calbot's own request counter for the webhook route grew by exactly that many 202s; the
sandbox saw exactly one `/v1/userinfo` per `profile_disconnected` (one check each);
and in calbot's database every connection was checked during the run, the one whose
access was removed is `needs_relink`, the rest still `connected`, and its owner got
exactly one relink DM however many notifications said so. Received is not enough:
each must also be answered within the 5 s Cronofy waits, at ≥ 0.95 × 500/s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.bench_latency import (
    CRONOFY_SECRET,
    _command,
    _signed,
    _wait_healthy,
    cpu_seconds,
    person,
    processes,
)

RATE = 500  # notifications per second
SECONDS = 10
PEOPLE = 5  # connected through the connect flow, one push channel each
DISCONNECT_EVERY = 10  # every 10th notification of a channel is profile_disconnected
CRONOFY_LATENCY_MS = 100
REQUEST_TIMEOUT = 30.0
POLL_TIMEOUT = 15.0  # for a DM, a channel to appear during set-up
SETTLE_TIMEOUT = 30.0  # for all answers to arrive after the last send
DEADLINE = 110.0
CRONOFY_PATIENCE = 5.0  # seconds Cronofy is reported to wait for an answer (sandbox notify.py)
TARGET_RATIO = 0.95
WEBHOOK_ROUTE = "/webhooks/cronofy/{key}"


@dataclass(frozen=True)
class Result:
    kind: str
    status: int  # 0: no answer (timeout, connection error)
    sent_at: float
    done_at: float


def sign(body: bytes) -> str:
    from integrations.cronofy.push import sign as cronofy_sign

    return cronofy_sign(body, CRONOFY_SECRET)


# --- set-up through the real connect flow ----------------------------------------------------


async def connect_people(
    session: aiohttp.ClientSession, urls: dict[str, Any], count: int
) -> list[dict[str, str]]:
    """`/calendar connect` in Slack, the DMed link, the sandbox sign-in, the callback."""
    for n in range(count):
        user = person(n)
        body = _command("connect", user, urls["response_url"])
        async with session.post(f"{urls['calbot']}/slack/events", data=body, headers=_signed(body)):
            pass
        link = await _poll(session, f"{urls['bench']}/links?user={user}", lambda got: got)
        async with session.get(link[0], allow_redirects=False) as opened:
            authorize_url = opened.headers["Location"]
        approve = {"authorize_url": authorize_url, "email": f"{user.lower()}@contoso.com"}
        async with session.post(f"{urls['cronofy']}/_sandbox/approve", json=approve) as answer:
            callback = (await answer.json())["location"]
        async with session.get(callback) as page:
            if page.status != 200:
                raise SystemExit(f"connecting {user} failed: {page.status} {await page.text()}")
    channels: list[dict[str, str]] = await _poll(
        session, f"{urls['bench']}/channels", lambda got: len(got) >= count
    )
    return channels


async def _poll(session: aiohttp.ClientSession, url: str, done: Any) -> Any:
    """GET `url` until `done(json)` is true (bounded by POLL_TIMEOUT)."""
    deadline = time.monotonic() + POLL_TIMEOUT
    while time.monotonic() < deadline:
        async with session.get(url) as response:
            got = await response.json()
        if done(got):
            return got
        await asyncio.sleep(0.1)
    raise SystemExit(f"gave up waiting for {url}")


# --- load ----------------------------------------------------------------------------------


def prepare(channels: list[dict[str, str]]) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """(kind, url, body, headers) for every notification, signed ahead of time."""
    prepared = []
    for i in range(RATE * SECONDS):
        channel = channels[i % len(channels)]
        nth_of_channel = i // len(channels)
        kind = "profile_disconnected" if nth_of_channel % DISCONNECT_EVERY == 0 else "change"
        notification: dict[str, Any] = {"type": kind}
        if kind == "change":
            notification["changes_since"] = datetime.now(UTC).isoformat()
        body = json.dumps(
            {
                "notification": notification,
                "channel": {
                    "channel_id": channel["channel_id"],
                    "callback_url": channel["callback_url"],
                    "filters": {},
                },
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Cronofy-HMAC-SHA256": sign(body)}
        prepared.append((kind, channel["callback_url"], body, headers))
    return prepared


async def send_all(
    session: aiohttp.ClientSession, prepared: list[tuple[str, str, bytes, dict[str, str]]]
) -> tuple[list[Result], float]:
    """Open loop at RATE/s. Returns the results and the start time."""
    loop = asyncio.get_running_loop()

    async def one(kind: str, url: str, body: bytes, headers: dict[str, str]) -> Result:
        sent = loop.time()
        try:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        return Result(kind, status, sent, loop.time())

    tasks: list[asyncio.Task[Result]] = []
    start = loop.time()
    for i, item in enumerate(prepared):
        delay = start + i / RATE - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(*item)))
    done, pending = await asyncio.wait(tasks, timeout=SETTLE_TIMEOUT)
    for task in pending:
        task.cancel()
    results = [t.result() for t in done]
    results += [Result("lost", 0, start, loop.time()) for _ in pending]
    return results, start


# --- verification ------------------------------------------------------------------------------


async def webhook_202s(session: aiohttp.ClientSession, calbot: str) -> int:
    """calbot's own count of 202 answers on the webhook route (its /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    async with session.get(f"{calbot}/metrics") as response:
        text = await response.text()
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "calbot_http_requests_total"
            and sample.labels.get("route") == WEBHOOK_ROUTE
            and sample.labels.get("status") == "202"
        )
    )


async def userinfo_calls(session: aiohttp.ClientSession, bench: str) -> int:
    async with session.get(f"{bench}/cronofy_requests", params={"path": "/v1/userinfo"}) as r:
        return int((await r.json())["count"])


async def database_state(db_url: str) -> tuple[dict[str, tuple[str, str | None]], int]:
    """Per connected e-mail: (state, last_checked_at as ISO text); how many relink DMs."""
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT profile_name, state, last_checked_at FROM calendar_connections")
                )
            ).all()
            relinks = await conn.scalar(
                text("SELECT COUNT(*) FROM outbox WHERE key LIKE 'health:%:needs_relink:%'")
            )
    finally:
        await engine.dispose()
    state = {
        str(email): (str(kind), _iso(checked) if checked is not None else None)
        for email, kind, checked in rows
    }
    return state, int(relinks or 0)


def _iso(value: object) -> str:
    """SQLite hands back text, PostgreSQL a datetime: compare both as naive UTC text."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    return str(value)


# --- the run -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


async def bench() -> bool:
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="calbot-bench-notifications-") as tmp:
        async with processes(
            Path(tmp), cronofy_latency_ms=CRONOFY_LATENCY_MS, bare=False, seed=False
        ) as urls:
            timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                await _wait_healthy(session, urls["calbot"], Path(tmp) / "calbot.log")
                channels = await connect_people(session, urls, PEOPLE)
                victim = channels[0]["email"]
                async with session.post(f"{urls['bench']}/disconnect", params={"email": victim}):
                    pass
                prepared = prepare(channels)
                counted_before = await webhook_202s(session, urls["calbot"])
                userinfo_before = await userinfo_calls(session, urls["bench"])
                run_started = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")

                cpu_before = cpu_seconds(urls["pids"]["calbot"])
                results, start = await send_all(session, prepared)
                cpu = cpu_seconds(urls["pids"]["calbot"]) - cpu_before

                counted = await webhook_202s(session, urls["calbot"]) - counted_before
                userinfo = await userinfo_calls(session, urls["bench"]) - userinfo_before
            connections, relinks = await database_state(urls["db_url"])
            print(f"database: {urls['db_url'].split(':', 1)[0]}")
            if time.monotonic() - began > DEADLINE:
                print(f"note: the run took longer than the {DEADLINE:g}s budget")
    print(
        f"calbot used {cpu:.1f} s of CPU for them: {cpu / len(results) * 1000:.2f} ms a "
        f"notification, so one core tops out near {len(results) / cpu:.0f}/s"
        if cpu > 0
        else "calbot CPU: not measured (no /proc)"
    )
    return report(results, start, counted, userinfo, connections, relinks, victim, run_started)


def report(
    results: list[Result],
    start: float,
    counted: int,
    userinfo: int,
    connections: dict[str, tuple[str, str | None]],
    relinks: int,
    victim: str,
    run_started: str,
) -> bool:
    sent = len(results)
    accepted = sum(1 for r in results if r.status == 202)
    checks_asked = sum(1 for r in results if r.kind == "profile_disconnected")
    last_sent = max(r.sent_at for r in results) - start
    last_done = max(r.done_at for r in results) - start
    offered, achieved = sent / max(last_sent, 1e-9), accepted / max(last_done, 1e-9)
    latencies = [r.done_at - r.sent_at for r in results if r.status == 202]
    by_status: dict[int, int] = {}
    for r in results:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    print(
        f"{sent} notifications to {len(connections)} channels in {last_sent:.2f} s "
        f"(offered {offered:.0f}/s); all answered after {last_done:.2f} s"
    )
    print(f"answers: {dict(sorted(by_status.items()))}")
    if latencies:
        print(
            f"answer time: p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
    late = sum(1 for t in latencies if t > CRONOFY_PATIENCE)
    print(
        f"achieved {achieved:.0f} handled/s, ratio to {RATE}/s: {achieved / RATE:.2f} "
        f"(offered ratio {offered / RATE:.2f}); answered after more than "
        f"{CRONOFY_PATIENCE:g} s (Cronofy would have given up): {late}"
    )
    print(f"calbot's own count of 202s on {WEBHOOK_ROUTE}: {counted} (sent {sent})")
    print(f"health checks at Cronofy (/v1/userinfo): {userinfo} for {checks_asked} asked")
    checked = {e: (s, c) for e, (s, c) in connections.items() if c is not None and c >= run_started}
    for email, (state, last) in sorted(connections.items()):
        print(f"  {email:24} {state:13} last checked {last}")
    print(f"relink DMs queued for {victim}: {relinks}")
    states_ok = all(
        state == ("needs_relink" if email == victim else "connected")
        for email, (state, _) in connections.items()
    )
    ok = (
        accepted == sent == RATE * SECONDS
        and achieved / RATE >= TARGET_RATIO
        and late == 0
        and counted == sent
        and userinfo == checks_asked
        and len(checked) == len(connections)
        and states_ok
        and relinks == 1
    )
    verdict = "all" if ok else "NOT all"
    print(f"lost: {sent - accepted}; verified and handled: {verdict} -> {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    asyncio.run(bench())


if __name__ == "__main__":
    main()
