"""The bot's DM channel id per (workspace, user), remembered in-process.

`conversations.open` is Tier 3 (~50 calls a minute) while a nudge fan-out posts far
faster than that, and a DM's id never changes while the DM exists. So ids are kept in
a bounded LRU; an id that went stale (`channel_not_found`) is dropped by the caller,
which opens the DM again. Nothing here is needed by a second instance: a miss only
costs one `conversations.open`.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_SIZE = 10_000  # ~1 MB; covers the largest team a report handles


class DmChannels:
    def __init__(self, max_size: int = DEFAULT_SIZE) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._max = max_size
        self._ids: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, team_id: str, user_id: str) -> str | None:
        key = (team_id, user_id)
        channel = self._ids.get(key)
        if channel is not None:
            self._ids.move_to_end(key)
        return channel

    def put(self, team_id: str, user_id: str, channel_id: str) -> None:
        key = (team_id, user_id)
        self._ids[key] = channel_id
        self._ids.move_to_end(key)
        while len(self._ids) > self._max:
            self._ids.popitem(last=False)

    def forget(self, team_id: str, user_id: str) -> None:
        self._ids.pop((team_id, user_id), None)

    def __len__(self) -> int:
        return len(self._ids)
