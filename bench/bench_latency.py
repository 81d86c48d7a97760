"""Slack ack latency under 200 concurrent requests: calbot against a bare bolt app.

Run: `.venv/bin/python -m bench.bench_latency` (or `make bench`). Everything stays on
127.0.0.1 and stops by itself (a fixed number of waves, a global deadline, timeouts).

Four processes, so that no server shares an event loop with the load generator or
with the services calbot calls after its ack (in one process the generator's own work
would be billed to whichever server it is measuring):

- world  (`--role world`): the mock Slack Web API (users.info, response_url, DMs…) and
  the Cronofy sandbox, which answers every API call after 2 s (`latency_ms=2000`);
- calbot (`python app.py serve`): the real server, on a migrated SQLite database with
  calendar connections seeded so that "Disconnect" clicks call (slow) Cronofy;
- bare   (`--role bare`): a slack-bolt AsyncApp on aiohttp, same route shape, that only
  acks `/calendar` and every block action — the floor any bolt app pays;
- this process: the load generator.

Both servers get the same mix of signed requests — `/calendar connect`, `/calendar
status`, `/calendar team <#C1>` (by an admin) and block_actions (`connect.disconnect`,
`connect.reconnect`, `status.nudge_one`) — in waves of 200 sent at once (Slack delivers
bursts), measured the same way: from just before a request is sent until its response
has been read. Waves alternate between the servers in pairs (who goes first alternates
too, so drift on the machine is shared), and every wave starts with both servers idle:
after each wave the bench waits until the world has seen no call for a moment and both
servers' CPU is quiet, so calbot's after-ack work (users.info, database, outbox, the
2-second Cronofy calls) never lands on the next wave, least of all on the bare app's.
The generator's own garbage collection is done between waves, never during one.

Targets (issue 6): calbot p99 ≤ 1.2 × bare p99, no request over 3 s, no error. A wave
of 200 is one ~100 ms burst, so its p99 is that burst's length, and the pooled p99 is
the slowest burst's: on a shared virtual machine the same CPU work takes up to 1.6×
longer in episodes of 30-50 ms, so 20 pairs are run and the per-pair ratios printed
too. `BENCH_CALBOT_CMD` (default `app.py serve`) runs another calbot entry point, to
measure a change before and after; `BENCH_BARE_GC=1` gives the bare app calbot's garbage
collector settings (its slowest waves are otherwise its own full collections).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import os
import platform
import random
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
SIGNING_SECRET = "bench-latency-signing-secret"
CRONOFY_SECRET = "bench-latency-cronofy-secret"
BOT_TOKEN = "xoxb-bench"
TEAM = "T1"
ADMIN = "UADMIN"
CHANNEL = "C1"
FORM = "application/x-www-form-urlencoded"
PEOPLE = 400  # Slack users; the first CONNECTED have a seeded calendar connection
CONNECTED = 200
CHANNEL_SIZE = 60

CONCURRENCY = 200  # requests in flight at once: one wave
PAIRS = 20  # a wave to each server per pair: the worst of 10 waves was mostly luck
WARMUP = CONCURRENCY  # requests to each server first: auth.test, 200 open connections
CRONOFY_LATENCY_MS = 2000
REQUEST_TIMEOUT = 10.0  # a request slower than this counts as an error
SLOW = 3.0  # Slack gives up on an ack after 3 s
DRAIN_QUIET = 0.75  # the servers are idle once the world saw no call for this long…
DRAIN_MAX = 45.0  # …or after this, whichever comes first
IDLE_CPU = 0.02  # CPU seconds in 0.25 s under which the servers count as idle
DEADLINE = 240.0  # seconds for the whole run, start-up included
START_TIMEOUT = 30.0
TARGET_RATIO = 1.2


def person(n: int) -> str:
    return f"U{n:04d}"


# --- the world: mock Slack and a slow Cronofy sandbox ----------------------------------------


@dataclass
class Activity:
    """In-flight and last-seen requests across the world's servers (for draining)."""

    in_flight: int = 0
    last: float = 0.0
    total: int = 0

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/_bench/"):
            return await handler(request)
        self.in_flight += 1
        self.total += 1
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1
            self.last = time.monotonic()


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, 0).start()
    return runner, f"http://{HOST}:{runner.addresses[0][1]}"


async def run_world(cronofy_latency_ms: int = CRONOFY_LATENCY_MS) -> None:
    """Serve until SIGTERM; print the URLs as one JSON line once ready.

    Besides the mock Slack API and the sandbox, `/_bench/*` on the Slack server lets a
    bench see what a person would: the connect links DMed (`links`), the push channels
    calbot opened (`channels`), and it can disconnect a profile at Cronofy without
    telling anyone (`disconnect?email=`), as a user removing access in Microsoft would.
    """
    from integrations.cronofy.sandbox import STATE_KEY, create_sandbox_app
    from integrations.runtime import SANDBOX_CLIENT_ID
    from tests.fakes.mock_slack import MockSlack

    activity = Activity()
    slack = MockSlack(tokens={BOT_TOKEN: TEAM}, team=TEAM)
    slack.add_user(ADMIN, name="admin", real_name="Ada Admin", is_admin=True)
    for n in range(PEOPLE):
        uid = person(n)
        slack.add_user(uid, name=uid.lower(), email=f"{uid.lower()}@contoso.com")
    slack.add_channel(CHANNEL, [person(n) for n in range(CHANNEL_SIZE)], name="interviewers")
    slack_app = slack.make_app()
    slack_app.middlewares.append(activity.middleware)

    async def stats(_request: web.Request) -> web.Response:
        methods = Counter(c.method for c in slack.calls)
        failed = Counter(
            c.method
            for c in slack.calls
            if c.status != 200 or (isinstance(c.response, dict) and not c.response.get("ok"))
        )
        quiet = time.monotonic() - activity.last if activity.last else 1e9
        body = {
            "in_flight": activity.in_flight,
            "quiet": quiet,
            "total": activity.total,
            "slack": dict(methods),
            "slack_failed": dict(failed),
            "cronofy": len(sandbox_app[STATE_KEY].requests),
        }
        return web.json_response(body)

    async def links(request: web.Request) -> web.Response:
        user = request.query.get("user", "")
        return web.json_response(
            [
                str(element["url"])
                for message in slack.dms_to(user)
                for block in message.blocks
                if block.get("type") == "actions"
                for element in block.get("elements", [])
                if "/connect/" in str(element.get("url", ""))
            ]
        )

    async def channels(_request: web.Request) -> web.Response:
        state = sandbox_app[STATE_KEY]
        return web.json_response(
            [
                {
                    "channel_id": c.channel_id,
                    "callback_url": c.callback_url,
                    "email": getattr(state.user_by_sub(c.sub), "email", ""),
                }
                for c in state.channels()
            ]
        )

    async def disconnect(request: web.Request) -> web.Response:
        user = sandbox_app[STATE_KEY].user(request.query.get("email", ""))
        if user is None:
            return web.json_response({"error": "unknown user"}, status=404)
        user.connected = False  # no notification: only a check would notice
        return web.json_response({"email": user.email, "connected": False})

    async def cronofy_requests(request: web.Request) -> web.Response:
        path = request.query.get("path")
        return web.json_response({"count": sandbox_app[STATE_KEY].request_count(path)})

    slack_app.router.add_get("/_bench/stats", stats)
    slack_app.router.add_get("/_bench/links", links)
    slack_app.router.add_get("/_bench/channels", channels)
    slack_app.router.add_post("/_bench/disconnect", disconnect)
    slack_app.router.add_get("/_bench/cronofy_requests", cronofy_requests)
    slack_runner, slack.url = await _serve(slack_app)

    sandbox_app = create_sandbox_app(client_id=SANDBOX_CLIENT_ID, client_secret=CRONOFY_SECRET)
    sandbox_app.middlewares.append(activity.middleware)
    sandbox_app[STATE_KEY].set_latency(cronofy_latency_ms)
    sandbox_runner, sandbox_url = await _serve(sandbox_app)

    print(
        json.dumps(
            {
                "slack_api": slack.api_url,
                "response_url": slack.response_url("bench"),
                "stats": f"{slack.url}/_bench/stats",
                "bench": f"{slack.url}/_bench",
                "cronofy": sandbox_url,
            }
        ),
        flush=True,
    )
    await _until_terminated()
    await sandbox_runner.cleanup()
    await slack_runner.cleanup()


# --- the bare bolt app -------------------------------------------------------------------------


async def run_bare(port: int) -> None:
    """The floor: bolt verifying the signature, matching a listener and acking."""
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult

    async def authorize(**_kwargs: Any) -> AuthorizeResult:
        # A fixed identity: no auth.test, as calbot after its first (cached) call.
        return AuthorizeResult(
            enterprise_id=None, team_id=TEAM, bot_token=BOT_TOKEN, bot_user_id="UBOT"
        )

    bolt = AsyncApp(
        signing_secret=SIGNING_SECRET,
        authorize=authorize,
        process_before_response=False,  # as calbot: ack first
        request_verification_enabled=True,
    )

    @bolt.command("/calendar")
    async def command(ack: Any) -> None:
        await ack()

    @bolt.block_action(re.compile(r".*"))
    async def action(ack: Any) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    if os.environ.get("BENCH_BARE_GC"):
        # calbot's own GC settings (app.py): the stricter floor, without the bare
        # app's full collections of its start-up heap in the middle of a wave.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
    await _until_terminated()
    await runner.cleanup()


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# --- child processes ---------------------------------------------------------------------------


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: a child never outlives the bench, even a SIGKILLed one."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment minus settings that would switch calbot's modes."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "CRONOFY_", "MICROSOFT_", "CALBOT_", "DATABASE_URL"))
    }
    return {**keep, "PYTHONPATH": str(ROOT), **extra}


async def _spawn(args: list[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *args,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if "world" in args else out,
            stderr=out,
            preexec_fn=_die_with_parent,  # only prctl: safe between fork and exec
        )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=10)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _wait_healthy(session: aiohttp.ClientSession, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.2)
    raise SystemExit(f"{url} did not start in {START_TIMEOUT:g}s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    """The end of a child's output, for a start-up failure (read once, on the way out)."""
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat(5), i.e. 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- calbot's database -------------------------------------------------------------------------


async def seed_database(db_url: str, key: str) -> None:
    """Migrate, then give CONNECTED people a calendar connection (as a finished connect
    would leave it), so their "Disconnect" clicks revoke at Cronofy after the ack."""
    from bot.clock import SystemClock
    from bot.connect import hash_token
    from bot.identity import ChatProfile, UserRef
    from bot.ports import NewConnection, TokenSet
    from storage.crypto import TokenCipher
    from storage.db import make_engine, make_sessionmaker
    from storage.migrate import upgrade_async
    from storage.repository import SqlStore

    await upgrade_async(db_url)
    engine = make_engine(db_url)
    clock = SystemClock()
    store = SqlStore(make_sessionmaker(engine), TokenCipher(key), clock)
    try:
        now = clock.now()
        for n in range(CONNECTED):
            uid = person(n)
            email = f"{uid.lower()}@contoso.com"
            user = await store.upsert_user(
                UserRef("slack", TEAM, uid), ChatProfile(display_name=uid, email=email)
            )
            link = await store.create_link(
                user.id, hash_token(secrets.token_urlsafe(16)), now + timedelta(days=1), []
            )
            nonce = secrets.token_urlsafe(8)
            await store.click_link(link.id, nonce, now)
            tokens = TokenSet(f"access-{uid}", f"refresh-{uid}", now + timedelta(days=1))
            connection = NewConnection(
                tokens=tokens,
                cronofy_sub=f"sub-{uid}",
                provider_name="exchange",
                provider_service="office365",
                profile_id=f"pro-{uid}",
                profile_name=email,
            )
            await store.complete_link(link.id, nonce, connection, now, [])
    finally:
        await engine.dispose()


# --- load --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    server: str
    kind: str
    seconds: float
    status: int  # 0: no answer (timeout or connection error)
    pair: int = -1


def _command(text: str, user: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "deprecated",
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": CHANNEL,
            "channel_name": "interviewers",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/calendar",
            "text": text,
            "api_app_id": "ABENCH",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def _click(action_id: str, value: str, user: str, response_url: str) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "api_app_id": "ABENCH",
        "token": "deprecated",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D1"},
        "trigger_id": "1.2.3",
        "team": {"id": TEAM, "domain": "bench"},
        "channel": {"id": "D1", "name": "directmessage"},
        "message": {"type": "message", "ts": "1.1", "text": "", "blocks": []},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def make_wave(
    rng: random.Random, response_url: str, size: int = CONCURRENCY
) -> list[tuple[str, str]]:
    """`size` (kind, body) pairs in fixed proportions, people drawn at random."""
    wave: list[tuple[str, str]] = []
    for i in range(size):
        slot, someone = i % 20, person(rng.randrange(PEOPLE))
        if slot < 5:
            wave.append(("/calendar connect", _command("connect", someone, response_url)))
        elif slot < 10:
            wave.append(("/calendar status", _command("status", someone, response_url)))
        elif slot < 13:
            text = f"team <#{CHANNEL}|interviewers>"
            wave.append(("/calendar team", _command(text, ADMIN, response_url)))
        elif slot < 16:
            connected = person(rng.randrange(CONNECTED))
            body = _click("connect.disconnect", "self", connected, response_url)
            wave.append(("click disconnect", body))
        elif slot < 18:
            body = _click("connect.reconnect", "self", someone, response_url)
            wave.append(("click reconnect", body))
        else:
            body = _click("status.nudge_one", someone, ADMIN, response_url)
            wave.append(("click nudge_one", body))
    rng.shuffle(wave)
    return wave


def _signed(body: str) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    return {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": str(signature),
    }


async def fire(
    session: aiohttp.ClientSession,
    server: str,
    url: str,
    wave: list[tuple[str, str]],
    pair: int = -1,
) -> list[Sample]:
    """Send a whole wave at once; signatures are made first so they aren't timed."""
    signed = [(kind, body.encode(), _signed(body)) for kind, body in wave]

    async def one(kind: str, body: bytes, headers: dict[str, str]) -> Sample:
        start = time.perf_counter()
        try:
            async with session.post(f"{url}/slack/events", data=body, headers=headers) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        return Sample(server, kind, time.perf_counter() - start, status, pair)

    with generator_gc_paused():
        return list(await asyncio.gather(*(one(*item) for item in signed)))


@contextlib.contextmanager
def generator_gc_paused() -> Iterator[None]:
    """Keep the load generator's own garbage collection out of a timed wave.

    The generator keeps every sample and signed body of the run; a full collection of
    its heap takes 70-100 ms on the bench machine and, landing mid-wave, was added to
    all 200 requests in flight — to whichever server happened to be measured. Collect
    before the wave (untimed), none during it.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def drain(
    session: aiohttp.ClientSession, stats_url: str, pids: Collection[int] = ()
) -> float:
    """Wait until nothing calls the world for DRAIN_QUIET s and the server processes
    `pids` use next to no CPU (bounded). Returns the wait.

    The world's quiet alone is not enough: after-ack work queued for the database makes
    no outside call for a while, and would land on the next wave.
    """
    start = time.monotonic()
    # Quiet must be measured from after the wave: its after-ack work may not have
    # reached the world yet when the last ack comes back.
    await asyncio.sleep(DRAIN_QUIET)
    while time.monotonic() - start < DRAIN_MAX:
        async with session.get(stats_url) as response:
            stats = await response.json()
        before = sum(cpu_seconds(pid) for pid in pids)
        await asyncio.sleep(0.25)
        busy = sum(cpu_seconds(pid) for pid in pids) - before
        if stats["in_flight"] == 0 and stats["quiet"] >= DRAIN_QUIET and busy <= IDLE_CPU:
            break
    return time.monotonic() - start


# --- report ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    n: int
    errors: int
    p50: float
    p90: float
    p99: float
    worst: float
    over_slow: int


def summarize(samples: list[Sample]) -> Summary:
    times = [s.seconds for s in samples]
    return Summary(
        n=len(samples),
        errors=sum(1 for s in samples if s.status != 200),
        p50=percentile(times, 50),
        p90=percentile(times, 90),
        p99=percentile(times, 99),
        worst=max(times),
        over_slow=sum(1 for t in times if t > SLOW),
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def report(
    samples: list[Sample],
    world_stats: dict[str, Any],
    drained: list[tuple[str, float]],
    cpu: dict[str, list[float]],
    wall: float,
) -> bool:
    bare = summarize([s for s in samples if s.server == "bare"])
    calbot = summarize([s for s in samples if s.server == "calbot"])
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; {CONCURRENCY} concurrent, "
        f"{PAIRS} waves per server, "
        f"Cronofy latency {CRONOFY_LATENCY_MS} ms, wall {wall:.1f} s"
    )
    print(
        f"{'':8} {'requests':>8} {'errors':>6} {'p50':>10} {'p90':>10} {'p99':>10} {'max':>10} >3s"
    )
    for name, s in (("bare", bare), ("calbot", calbot)):
        print(
            f"{name:8} {s.n:8d} {s.errors:6d} {_ms(s.p50):>10} {_ms(s.p90):>10} "
            f"{_ms(s.p99):>10} {_ms(s.worst):>10} {s.over_slow:3d}"
        )
    print("calbot by request kind (p50 / p99):")
    for kind in sorted({s.kind for s in samples}):
        mine = [s.seconds for s in samples if s.server == "calbot" and s.kind == kind]
        print(f"  {kind:20} {_ms(percentile(mine, 50))} / {_ms(percentile(mine, 99))}")
    statuses = Counter(s.status for s in samples if s.status != 200)
    if statuses:
        print(f"non-200 answers: {dict(statuses)}")
    print(
        f"after-ack work seen by the world: {sum(world_stats['slack'].values())} Slack calls "
        f"({sum(world_stats['slack_failed'].values())} failed), "
        f"{world_stats['cronofy']} Cronofy calls"
    )
    calbot_drains = [seconds for server, seconds in drained if server == "calbot"]
    print(
        f"calbot finished the after-ack work of a 200-request burst in "
        f"{min(calbot_drains):.1f}-{max(calbot_drains):.1f} s (until the world was quiet "
        f"for {DRAIN_QUIET:g} s and the servers idle)"
    )
    if world_stats["slack_failed"]:
        print(f"  failed Slack calls by method: {world_stats['slack_failed']}")
    bare_cpu, calbot_cpu = (statistics.mean(cpu[name] or [0.0]) for name in ("bare", "calbot"))
    if bare_cpu > 0:
        print(
            f"server CPU per wave of {CONCURRENCY} (less sensitive to other load than "
            f"latency): bare {bare_cpu * 1000:.0f} ms, calbot {calbot_cpu * 1000:.0f} ms, "
            f"ratio {calbot_cpu / bare_cpu:.2f}"
        )
    ratio_p50, ratio_p99 = calbot.p50 / bare.p50, calbot.p99 / bare.p99
    pair_ratios = sorted(
        percentile([s.seconds for s in samples if s.pair == pair and s.server == "calbot"], 99)
        / percentile([s.seconds for s in samples if s.pair == pair and s.server == "bare"], 99)
        for pair in range(PAIRS)
    )
    print(
        "p99 ratio of each pair of waves (sorted; one slow wave on a busy machine moves the "
        f"overall p99): {', '.join(f'{r:.2f}' for r in pair_ratios)}; "
        f"median {statistics.median(pair_ratios):.2f}"
    )
    print(
        f"ratio calbot/bare: p50 {ratio_p50:.2f}, p99 {ratio_p99:.2f} (target p99 ≤ {TARGET_RATIO})"
    )
    ok = ratio_p99 <= TARGET_RATIO and calbot.over_slow == 0 and calbot.errors == 0
    print(
        f"targets: p99 ratio {'met' if ratio_p99 <= TARGET_RATIO else 'MISSED'}, "
        f"{calbot.over_slow} over 3 s, {calbot.errors} errors -> {'PASS' if ok else 'FAIL'}"
    )
    return ok


# --- the run -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def processes(
    workdir: Path,
    *,
    cronofy_latency_ms: int = CRONOFY_LATENCY_MS,
    bare: bool = True,
    seed: bool = True,
) -> AsyncIterator[dict[str, Any]]:
    """World, calbot and (optionally) bare, started; all stopped on the way out.

    The returned dict holds the URLs (`calbot`, `bare`, `stats`, `bench`, …), the
    calbot database URL (`db_url`) and the servers' process ids (`pids`).
    """
    async with (
        bench_database(workdir) as db_url,
        _children(
            workdir, db_url, cronofy_latency_ms=cronofy_latency_ms, bare=bare, seed=seed
        ) as urls,
    ):
        yield urls


@contextlib.asynccontextmanager
async def bench_database(workdir: Path) -> AsyncIterator[str]:
    """SQLite in `workdir`, or with BENCH_DATABASE_URL (a PostgreSQL server, e.g.
    `postgresql+asyncpg://postgres@127.0.0.1:5432/test`) a fresh database on that
    server, dropped afterwards — production runs on PostgreSQL."""
    base = os.environ.get("BENCH_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{workdir / 'calbot.db'}"
        return
    import asyncpg

    name = f"calbot_bench_{secrets.token_hex(4)}"
    admin = base.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{base.rsplit('/', 1)[0]}/{name}"
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def _children(
    workdir: Path, db_url: str, *, cronofy_latency_ms: int, bare: bool, seed: bool
) -> AsyncIterator[dict[str, Any]]:
    started: list[asyncio.subprocess.Process] = []
    python = sys.executable
    try:
        world = await _spawn(
            [
                python,
                "-m",
                "bench.bench_latency",
                "--role",
                "world",
                "--cronofy-latency-ms",
                str(cronofy_latency_ms),
            ],
            _clean_env({}),
            workdir / "world.log",
        )
        started.append(world)
        assert world.stdout is not None
        line = await asyncio.wait_for(world.stdout.readline(), timeout=START_TIMEOUT)
        if not line:
            raise SystemExit("the world process did not start:\n" + _tail(workdir / "world.log"))
        urls = json.loads(line)

        from storage.crypto import generate_key

        key = generate_key()
        if seed:
            await seed_database(db_url, key)
        else:
            from storage.migrate import upgrade_async

            await upgrade_async(db_url)
        calbot_port, bare_port = _free_port(), _free_port()
        calbot_env = _clean_env(
            {
                "DATABASE_URL": db_url,
                "TOKEN_ENCRYPTION_KEY": key,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": urls["slack_api"],
                "CRONOFY_API_URL": urls["cronofy"],
                "CRONOFY_CLIENT_SECRET": CRONOFY_SECRET,
                "PUBLIC_BASE_URL": f"http://{HOST}:{calbot_port}",
                "HOST": HOST,
                "PORT": str(calbot_port),
                "LOG_LEVEL": "WARNING",
            }
        )
        calbot_cmd = os.environ.get("BENCH_CALBOT_CMD", "app.py serve").split()
        started.append(await _spawn([python, *calbot_cmd], calbot_env, workdir / "calbot.log"))
        pids = {"calbot": started[-1].pid}
        if bare:
            bare_cmd = ["-m", "bench.bench_latency", "--role", "bare", "--port", str(bare_port)]
            started.append(await _spawn([python, *bare_cmd], _clean_env({}), workdir / "bare.log"))
            pids["bare"] = started[-1].pid
        yield {
            **urls,
            "pids": pids,
            "db_url": db_url,
            "calbot": f"http://{HOST}:{calbot_port}",
            "bare": f"http://{HOST}:{bare_port}",
            "logs": workdir,
        }
    finally:
        for process in reversed(started):
            await _stop(process)


async def bench() -> bool:
    began = time.monotonic()
    rng = random.Random(6)  # the same mix every run
    with tempfile.TemporaryDirectory(prefix="calbot-bench-latency-") as tmp:
        workdir = Path(tmp)
        async with processes(workdir) as urls:
            timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
            # Connections stay open between phases (aiohttp closes idle ones after 15 s by
            # default), so no phase pays for 200 new connections the other didn't.
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=300)
            drained: list[tuple[str, float]] = []
            cpu: dict[str, list[float]] = {"bare": [], "calbot": []}
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                for server in ("calbot", "bare"):
                    await _wait_healthy(session, urls[server], workdir / f"{server}.log")
                for server in ("calbot", "bare"):
                    await fire(
                        session, server, urls[server], make_wave(rng, urls["response_url"], WARMUP)
                    )
                await drain(session, urls["stats"], urls["pids"].values())

                samples: list[Sample] = []
                for pair in range(PAIRS):
                    # Alternate who goes first, so slow drift on the machine is shared.
                    order = ("bare", "calbot") if pair % 2 == 0 else ("calbot", "bare")
                    for server in order:
                        if time.monotonic() - began > DEADLINE:
                            raise SystemExit(f"stopped: over the {DEADLINE:g}s deadline")
                        wave = make_wave(rng, urls["response_url"])
                        before = cpu_seconds(urls["pids"][server])
                        samples += await fire(session, server, urls[server], wave, pair)
                        cpu[server].append(cpu_seconds(urls["pids"][server]) - before)
                        # Each wave starts from idle: calbot's after-ack work for this
                        # burst must not land on the next wave (the bare app's above all).
                        drained.append(
                            (server, await drain(session, urls["stats"], urls["pids"].values()))
                        )
                async with session.get(urls["stats"]) as response:
                    world_stats = await response.json()
            print(f"database: {urls['db_url'].split(':', 1)[0]}")
            return report(samples, world_stats, drained, cpu, time.monotonic() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["bench", "world", "bare"], default="bench")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cronofy-latency-ms", type=int, default=CRONOFY_LATENCY_MS)
    # `python -m bench` calls main() with its own argv: only read ours when run directly.
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    if args.role == "world":
        asyncio.run(run_world(args.cronofy_latency_ms))
    elif args.role == "bare":
        asyncio.run(run_bare(args.port))
    else:
        asyncio.run(bench())


if __name__ == "__main__":
    main()
