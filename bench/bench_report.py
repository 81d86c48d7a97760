"""Team report for 10,000 members on SQLite: p95 ≤ 1 s, SQL statements independent of size.

Run: `.venv/bin/python -m bench.bench_report` (or `make bench`). The baseline measured in
the same run is the same report for a 100-person team; the figures that matter are the
10,000-member p95 against its 1 s budget and the statement counts per size.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert

from bot.connect import Actor
from bot.identity import ChatProfile, TeamRef
from integrations.console.chat import ConsoleChat, user_ref
from integrations.runtime import build_runtime
from storage import models as m
from storage.crypto import generate_key
from storage.migrate import upgrade_async

SIZES = (100, 1_000, 10_000)
RUNS = 15


async def _seed(runtime, size: int) -> None:
    """Members, a third connected, a third with a link sent, the rest never connected."""
    now = datetime.now(UTC)
    chat: ConsoleChat = runtime.chats["console"]
    ids = [f"u{size}-{i}" for i in range(size)]
    for uid in ids:
        chat.profiles[uid] = ChatProfile(display_name=f"Person {uid}", email=f"{uid}@contoso.com")
    chat.channels[f"team{size}"] = ids
    async with runtime.engine.begin() as conn:
        ws = (
            await conn.execute(
                m.Workspace.__table__.select().where(m.Workspace.external_id == "local")
            )
        ).first()
        if ws is None:
            await conn.execute(
                insert(m.Workspace),
                [
                    {
                        "platform": "console",
                        "external_id": "local",
                        "name": "",
                        "settings": {},
                        "created_at": now,
                    }
                ],
            )
            ws = (await conn.execute(m.Workspace.__table__.select())).first()
        rows = [
            {
                "workspace_id": ws.id,
                "platform_user_id": uid,
                "display_name": uid,
                "email": f"{uid}@contoso.com",
                "is_admin": False,
                "created_at": now,
                "updated_at": now,
            }
            for uid in ids[: 2 * size // 3]
        ]
        await conn.execute(insert(m.ChatUser), rows)
        users = (
            await conn.execute(
                m.ChatUser.__table__.select().where(m.ChatUser.platform_user_id.in_(ids))
            )
        ).all()
        connected = [u for i, u in enumerate(users) if i % 2 == 0]
        linked = [u for i, u in enumerate(users) if i % 2 == 1]
        await conn.execute(
            insert(m.CalendarConnection),
            [
                {
                    "user_id": u.id,
                    "cronofy_sub": f"acc_{u.id}",
                    "provider_name": "exchange",
                    "provider_service": "office365",
                    "profile_name": u.email,
                    "access_token_enc": "x",
                    "refresh_token_enc": "x",
                    "expires_at": now + timedelta(hours=1),
                    "state": "connected",
                    "connected_at": now,
                    "updated_at": now,
                }
                for u in connected
            ],
        )
        await conn.execute(
            insert(m.ConnectLink),
            [
                {
                    "token_hash": f"{u.id:064d}",
                    "user_id": u.id,
                    "created_at": now,
                    "expires_at": now + timedelta(days=7),
                    "click_count": 0,
                    "purpose": "connect",
                }
                for u in linked
            ],
        )


async def main_async() -> dict[int, tuple[float, float, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade_async(url)
        from bot.settings import load_settings

        settings = load_settings(
            _env_file=None, DATABASE_URL=url, TOKEN_ENCRYPTION_KEY=generate_key()
        )
        runtime = await build_runtime(settings, chats={"console": ConsoleChat()})
        statements = 0

        @event.listens_for(runtime.engine.sync_engine, "before_cursor_execute")
        def _count(*_args: object) -> None:
            nonlocal statements
            statements += 1

        admin = Actor(user=user_ref("admin"), profile=ChatProfile("Admin", is_admin=True))
        reader = await runtime.store.upsert_user(admin.user, admin.profile)
        results: dict[int, tuple[float, float, int]] = {}
        try:
            for size in SIZES:
                await _seed(runtime, size)
                team = TeamRef("channel", f"team{size}", f"team{size}")
                timings = []
                for _ in range(RUNS):
                    statements = 0
                    start = time.perf_counter()
                    pages = await runtime.bot.team._build_pages("local", reader, team)
                    timings.append(time.perf_counter() - start)
                assert pages
                p95 = statistics.quantiles(timings, n=20)[-1]
                results[size] = (statistics.median(timings), p95, statements)
        finally:
            await runtime.close()
        return results


def main() -> None:
    results = asyncio.run(main_async())
    base_median = results[SIZES[0]][0]
    print(f"{'members':>8} {'median ms':>10} {'p95 ms':>8} {'SQL':>4} {'× 100-member':>13}")
    for size, (median, p95, statements) in results.items():
        print(
            f"{size:>8} {median * 1000:>10.1f} {p95 * 1000:>8.1f} {statements:>4} "
            f"{median / base_median:>13.1f}"
        )
    p95_10k = results[10_000][1]
    counts = {s for _, _, s in results.values()}
    print(f"10,000 members: p95 {p95_10k * 1000:.0f} ms = {p95_10k:.2f} of the 1 s budget")
    print(
        f"SQL statements per report: {sorted(counts)} (constant across sizes: {len(counts) == 1})"
    )


if __name__ == "__main__":
    main()
