"""A TCP proxy in the test process, between calbot and PostgreSQL, that can fail.

    proxy = await FlakyProxy("127.0.0.1", 5432).start()   # listens on 127.0.0.1:proxy.port
    await proxy.down()   # reset every connection (RST) and refuse new ones
    await proxy.up()     # listen again on the same port
    await proxy.close()

`down()` is what a database crash or a failover looks like from calbot: the pooled
connections die mid-conversation and reconnecting is refused until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib


class FlakyProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.accepted = 0

    async def start(self) -> FlakyProxy:
        await self.up()
        return self

    async def up(self) -> None:
        assert self._server is None
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Stop listening (new connections are refused) and reset every open one."""
        if self._server is not None:
            self._server.close()
        for transport in list(self._transports):
            transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def close(self) -> None:
        await self.down()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        client = writer.transport
        self._transports.add(client)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client.abort()
            self._transports.discard(client)
            return
        upstream = up_writer.transport
        self._transports.add(upstream)
        pumps = [
            asyncio.create_task(_pump(reader, up_writer)),
            asyncio.create_task(_pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        try:
            # Either side closing ends the pair, as a real connection would.
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._tasks.difference_update(pumps)
            for transport in (client, upstream):
                transport.abort()
                self._transports.discard(transport)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
