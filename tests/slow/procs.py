"""Real calbot processes for the fault tests, and the world they talk to, all on 127.0.0.1.

    async with world(tmp_path, db_url) as w:          # MockSlack, Cronofy sandbox, children
        a = await w.calbot("a").start()                 # `python app.py serve` on a free port
        await w.command(a, "U01", "connect")            # a signed Slack slash command
        ...
        await a.kill()                                  # SIGKILL
        await w.calbot("a", port=a.port).start()        # the same instance, restarted
        await a.job("expire")                           # `python app.py jobs run expire`

Every child is started with PR_SET_PDEATHSIG (it dies with the test process, even one
killed with SIGKILL) and is SIGKILLed when `world` exits, however the test ended; the
in-process servers are closed after their held requests are released, so closing never
waits on them. Child output goes to files under the test's tmp_path, which a failing
assertion quotes (`Calbot.log_tail`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from integrations.cronofy.sandbox import STATE_KEY, RunningSandbox, create_sandbox_app
from integrations.runtime import SANDBOX_CLIENT_ID
from integrations.slack.chat import OUTBOX_EVENT
from storage.db import make_engine
from storage.migrate import upgrade
from tests.fakes.mock_slack import MockSlack, PostedMessage
from tests.fakes.slack_payloads import FORM, block_actions_body, command_body, signed_headers
from tests.support import PG_URL, TEST_KEY, free_port, sqlite_url

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
TEAM = "T1"
BOT_TOKEN = "xoxb-test"
SIGNING_SECRET = "slow-faults-signing-secret"
CRONOFY_SECRET = "slow-faults-cronofy-secret"
START_TIMEOUT = 30.0  # seconds for `serve` to answer /healthz (imports take ~2 s)
JOB_TIMEOUT = 60.0  # seconds for one `jobs run` (it exits after a single pass)
HOLD_MAX = 60.0  # a held sandbox answer is released after this, whatever the test does

Check = Callable[[], Awaitable[bool] | bool]


# --- waiting ---------------------------------------------------------------------------


async def eventually(check: Check, *, timeout: float, what: str, poll: float = 0.05) -> None:
    """Poll `check` until it holds; fail naming `what` when `timeout` runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(poll)


# --- databases -------------------------------------------------------------------------


@asynccontextmanager
async def fresh_database(tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of the test's own: PostgreSQL (a new database, dropped after)
    when TEST_DATABASE_URL is set, else a SQLite file under tmp_path."""
    if not PG_URL:
        yield await sqlite_url(tmp_path)
        return
    import asyncpg

    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"calbot_slow_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = f"{PG_URL.rpartition('/')[0]}/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        conn = await asyncpg.connect(admin)
        try:
            # FORCE: a killed child's backend may not have noticed yet that it is gone.
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@asynccontextmanager
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own view of the database (to check rows and to play the clock forward)."""
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        await eng.dispose()


# --- child processes -------------------------------------------------------------------


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it when the test process goes away."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Processes:
    """Every child a test starts; `close()` SIGKILLs whatever still runs."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self._children: list[asyncio.subprocess.Process] = []

    async def spawn(
        self, args: list[str], env: dict[str, str], log: Path
    ) -> asyncio.subprocess.Process:
        with log.open("ab") as out:
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                *args,
                # Not the repository: a developer's .env there must not configure the child.
                cwd=self.logs,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self._children.append(child)
        return child

    async def close(self) -> None:
        for child in self._children:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
        for child in self._children:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(child.wait(), timeout=10)


def child_env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment minus anything that would switch calbot's modes (a
    developer's SLACK_*/CRONOFY_*/…), plus `settings`."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "CRONOFY_", "MICROSOFT_", "CALBOT_", "DATABASE_URL"))
        and k not in {"PORT", "HOST", "PUBLIC_BASE_URL", "TOKEN_ENCRYPTION_KEY", "LOG_LEVEL"}
    }
    return {**keep, "PYTHONPATH": str(ROOT), **settings}


@dataclass
class Calbot:
    """One `python app.py serve` instance (start, SIGKILL, restart on the same port)."""

    name: str
    port: int
    env: dict[str, str]
    procs: Processes
    process: asyncio.subprocess.Process | None = None
    restarts: int = -1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.procs.logs / f"{self.name}.log"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    async def start(self) -> Calbot:
        """Start (or restart) and wait until it answers /healthz.

        A restart reuses the port; if something else took it meanwhile (any outgoing
        connection may be given a just-freed port), it moves to a new one. Requests go
        to `url`, and links keep naming PUBLIC_BASE_URL, which does not change.
        """
        for _ in range(3):
            if await self._start_once():
                return self
            self.port = free_port()
            self.env["PORT"] = str(self.port)
        raise AssertionError(f"{self.name} found no free port:\n{self.log_tail()}")

    async def _start_once(self) -> bool:
        """False when the port was taken; raises when the process fails otherwise."""
        assert self.process is None or self.process.returncode is not None, "still running"
        self.restarts += 1
        logged = self.log.stat().st_size if self.log.exists() else 0
        self.process = await self.procs.spawn([str(APP), "serve"], self.env, self.log)
        deadline = time.monotonic() + START_TIMEOUT
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                if self.process.returncode is not None:
                    with self.log.open("rb") as log:
                        log.seek(logged)
                        if b"address already in use" in log.read():
                            return False
                    raise AssertionError(f"{self.name} exited at start:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"{self.url}/healthz") as response:
                        # Ours, not another test's server that was given the same port.
                        if response.status == 200 and _listens(self.process.pid, self.port):
                            return True
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} did not start:\n{self.log_tail()}")
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook, no outbox drain, connections just vanish."""
        assert self.process is not None and self.process.returncode is None
        self.process.kill()
        assert await asyncio.wait_for(self.process.wait(), timeout=10) == -signal.SIGKILL

    async def job(self, name: str) -> str:
        """`python app.py jobs run NAME` with this instance's settings; its output."""
        log = self.procs.logs / f"{self.name}-job-{name}-{uuid.uuid4().hex[:6]}.log"
        child = await self.procs.spawn([str(APP), "jobs", "run", name], self.env, log)
        code = await asyncio.wait_for(child.wait(), timeout=JOB_TIMEOUT)
        output = log.read_text(errors="replace")
        assert code == 0, f"jobs run {name} on {self.name} failed ({code}):\n{output[-3000:]}"
        return output


async def jobs_in_step(calbots: list[Calbot], *names: str) -> list[str]:
    """Run `names` once on every instance, all released at the same moment
    (`tests.slow.jobs`); each instance's output."""
    if not calbots:
        return []
    procs = calbots[0].procs
    tag = uuid.uuid4().hex[:6]
    go = procs.logs / f"jobs-{tag}.go"
    started = []
    for c in calbots:
        ready = procs.logs / f"jobs-{tag}-{c.name}.ready"
        log = procs.logs / f"{c.name}-jobs-{tag}.log"
        args = ["-m", "tests.slow.jobs", "--ready", str(ready), "--go", str(go), *names]
        started.append((c, ready, log, await procs.spawn(args, c.env, log)))
    try:
        await eventually(
            lambda: all(r.exists() or p.returncode is not None for _, r, _, p in started),
            timeout=START_TIMEOUT,
            what="the job runners to start",
        )
    finally:
        go.touch()  # also on failure: nobody is left waiting
    outputs = []
    for c, _, log, child in started:
        code = await asyncio.wait_for(child.wait(), timeout=JOB_TIMEOUT)
        output = log.read_text(errors="replace")
        assert code == 0, f"jobs {names} on {c.name} failed ({code}):\n{output[-3000:]}"
        outputs.append(output)
    return outputs


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` holds the listening socket of 127.0.0.1:`port` (Linux
    /proc; elsewhere assumed)."""
    table = Path("/proc/net/tcp")
    if not table.exists():
        return True
    inodes = {
        fields[9]
        for line in table.read_text().splitlines()[1:]
        if (fields := line.split())[3] == "0A"  # LISTEN
        and int(fields[1].rsplit(":", 1)[1], 16) == port
    }
    owned = set()
    with contextlib.suppress(OSError):  # an fd closing meanwhile: look again next poll
        owned = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
    return any(f"socket:[{inode}]" in owned for inode in inodes)


# --- the Cronofy sandbox, with answers that can be held --------------------------------


@dataclass
class Hold:
    method: str
    path: re.Pattern[str]
    after: int  # matching requests answered normally before holding starts
    limit: int  # how many answers to hold
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    seen: int = 0
    held: int = 0


class SandboxGate:
    """Holds the sandbox's answer to chosen requests *after* it has done the work.

    Cronofy acted (the code is redeemed, the event written) but calbot has not heard yet:
    a calbot killed meanwhile never learns the outcome, which is the hard case.
    """

    def __init__(self) -> None:
        self._holds: list[Hold] = []

    def hold(self, method: str, path: str, *, after: int = 0, limit: int = 1) -> Hold:
        rule = Hold(method, re.compile(path), after, limit)
        self._holds.append(rule)
        return rule

    def release_all(self) -> None:
        for rule in self._holds:
            rule.released.set()

    def middleware(self) -> Any:
        @web.middleware
        async def gate(request: web.Request, handler: Any) -> web.StreamResponse:
            response = await handler(request)
            for rule in self._holds:
                if rule.released.is_set() or request.method != rule.method:
                    continue
                if not rule.path.fullmatch(request.path):
                    continue
                rule.seen += 1
                if rule.seen > rule.after and rule.held < rule.limit:
                    rule.held += 1
                    rule.reached.set()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(rule.released.wait(), HOLD_MAX)
            return response

        return gate


async def start_sandbox(gate: SandboxGate) -> RunningSandbox:
    """The sandbox as calbot's `build_calendar` expects an external one: its client id,
    our secret (calbot is given CRONOFY_CLIENT_SECRET and CRONOFY_API_URL)."""
    app = create_sandbox_app(client_id=SANDBOX_CLIENT_ID, client_secret=CRONOFY_SECRET)
    app.middlewares.append(gate.middleware())  # inside the sandbox's own request log
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return RunningSandbox(url=url, state=app[STATE_KEY], app=app, runner=runner)


# --- the world: Slack, Cronofy, browser, processes --------------------------------------


@dataclass
class World:
    tmp: Path
    db_url: str
    slack: MockSlack
    sandbox: RunningSandbox
    gate: SandboxGate
    procs: Processes
    http: aiohttp.ClientSession

    def calbot(
        self,
        name: str,
        *,
        port: int | None = None,
        public_url: str | None = None,
        db_url: str | None = None,
        **settings: str,
    ) -> Calbot:
        """An instance (not started). `public_url`: the shared address of a cluster."""
        port = port or free_port()
        env = child_env(
            {
                "DATABASE_URL": db_url or self.db_url,
                "TOKEN_ENCRYPTION_KEY": TEST_KEY,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": self.slack.api_url,
                "CRONOFY_API_URL": self.sandbox.url,
                "CRONOFY_CLIENT_SECRET": CRONOFY_SECRET,
                "PUBLIC_BASE_URL": public_url or f"http://127.0.0.1:{port}",
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "LOG_LEVEL": "INFO",
                "CALBOT_OUTBOX_INTERVAL_SECONDS": "0.2",
                **settings,
            }
        )
        return Calbot(name, port, env, self.procs)

    # --- Slack, as Slack sends it ----------------------------------------------------

    async def slack_post(self, calbot: Calbot, body: str, content_type: str = FORM) -> int:
        headers = {"Content-Type": content_type, **signed_headers(body, SIGNING_SECRET)}
        async with self.http.post(
            f"{calbot.url}/slack/events", data=body.encode(), headers=headers
        ) as response:
            await response.read()
            return response.status

    async def command(self, calbot: Calbot, user: str, text: str) -> int:
        """`/calendar TEXT` from `user`; its ephemeral answer goes to /response/cmd-USER."""
        body = command_body(text, user_id=user, response_url=self.slack.response_url(f"cmd-{user}"))
        return await self.slack_post(calbot, body)

    async def click(self, calbot: Calbot, user: str, action_id: str, value: str) -> int:
        """A button press by `user`; its answer goes to /response/act-USER."""
        body = block_actions_body(
            action_id,
            value,
            user_id=user,
            channel_id=self.slack.dm_channel(user),
            response_url=self.slack.response_url(f"act-{user}"),
        )
        return await self.slack_post(calbot, body)

    def replies(self, user: str, kind: str = "cmd") -> list[str]:
        """The ephemeral answers `user` got to commands ("cmd") or clicks ("act")."""
        path = f"/response/{kind}-{user}"
        return [str(c.params.get("text", "")) for c in self.slack.calls if c.path == path]

    # --- the browser -----------------------------------------------------------------

    async def open_link(self, calbot: Calbot, link: str) -> str:
        """Click a personal link (on `calbot`, whatever host it names); the authorize URL."""
        async with self.http.get(
            f"{calbot.url}{urlsplit(link).path}", allow_redirects=False
        ) as response:
            body = await response.text()
            assert response.status == 302, f"{response.status}: {body[:500]}"
            return response.headers["Location"]

    async def approve(self, authorize_url: str, email: str) -> str:
        """The person signs in at the sandbox; the callback URL it redirects to."""
        async with self.http.post(
            f"{self.sandbox.url}/_sandbox/approve",
            json={"authorize_url": authorize_url, "email": email, "decision": "approve"},
        ) as response:
            assert response.status == 200, await response.text()
            location = (await response.json())["location"]
        assert location and "/oauth/cronofy/callback?" in location, location
        return str(location)

    async def callback(self, calbot: Calbot, location: str) -> tuple[int, str]:
        """The browser follows the redirect back (to `calbot`): status and page."""
        parts = urlsplit(location)
        async with self.http.get(f"{calbot.url}{parts.path}?{parts.query}") as response:
            return response.status, await response.text()

    async def connect(self, user: str, email: str, click_on: Calbot, finish_on: Calbot) -> str:
        """Click the link in `user`'s connect DM on one instance, sign in, come back to
        another. Returns the success page."""
        authorize = await self.open_link(click_on, connect_link(self.slack, user))
        status, page = await self.callback(finish_on, await self.approve(authorize, email))
        assert status == 200, f"{user}: {status} {page[:500]}"
        return page


@asynccontextmanager
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    procs = Processes(tmp_path)
    gate = SandboxGate()
    # Unwound last-in first-out: the children die first (nothing calls the servers any
    # more), then held answers are released, so closing a server never waits on one.
    async with contextlib.AsyncExitStack() as stack:
        slack = await stack.enter_async_context(MockSlack.running())
        sandbox = await start_sandbox(gate)
        stack.push_async_callback(sandbox.close)
        stack.callback(gate.release_all)
        http = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        )
        stack.push_async_callback(procs.close)
        yield World(tmp_path, db_url, slack, sandbox, gate, procs, http)


# --- what Slack holds ------------------------------------------------------------------


def outbox_key(message: PostedMessage) -> str:
    """The outbox key calbot tagged a DM with (message metadata)."""
    metadata = message.metadata or {}
    if metadata.get("event_type") != OUTBOX_EVENT:
        return ""
    return str((metadata.get("event_payload") or {}).get("key", ""))


def dms(slack: MockSlack, user: str, kind: str | None = None) -> list[PostedMessage]:
    """Top-level messages in `user`'s DM with the bot (outbox key prefix `kind`), by ts."""
    channel = slack.dm_channel(user)
    found = [m for m in slack.messages.values() if m.channel == channel and not m.thread_ts]
    if kind is not None:
        found = [m for m in found if outbox_key(m).split(":")[0] == kind]
    return sorted(found, key=lambda m: float(m.ts))


def versions(message: PostedMessage) -> list[str]:
    """The texts the message has shown, oldest first."""
    return [str(v.get("text", "")) for v in message.history] + [message.text]


def _urls(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [u for value in node.values() for u in _urls(value)]
    if isinstance(node, list):
        return [u for value in node for u in _urls(value)]
    return [node] if isinstance(node, str) and "/connect/" in node else []


def connect_link(slack: MockSlack, user: str) -> str:
    """The personal link in `user`'s (single) connect DM, as first posted (an edit saying
    that connecting failed no longer shows it, but the link still works)."""
    [message] = dms(slack, user, "connect-dm")
    first = message.history[0]["blocks"] if message.history else message.blocks
    [link] = set(_urls(first))
    return link


def updates_of(slack: MockSlack, message: PostedMessage) -> int:
    """How many successful chat.update calls edited `message`."""
    return sum(
        1
        for c in slack.calls_to("chat.update")
        if c.ok and (c.params.get("channel"), c.params.get("ts")) == (message.channel, message.ts)
    )


def scan_logs(logs: Path, secrets: list[str]) -> list[str]:
    """Lines of the children's logs that contain a secret or a personal link."""
    link = re.compile(r"/connect/[A-Za-z0-9_-]{20,}")
    found = []
    for path in sorted(logs.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if link.search(line) or any(s in line for s in secrets):
                found.append(f"{path.name}: {line[:300]}")
    return found


CHILD_SECRETS = [BOT_TOKEN, SIGNING_SECRET, CRONOFY_SECRET, TEST_KEY, "sbxat_", "sbxrt_"]
