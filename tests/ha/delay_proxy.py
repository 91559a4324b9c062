#!/usr/bin/env python3
"""A TCP proxy that delays what passes through it, per client address: the
sandbox's stand-in for a slow network (this kernel has no netem).

    delay_proxy.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT CONTROL.json

Runs on a database host in front of PostgreSQL: programs connect to
LISTEN_HOST:LISTEN_PORT, the proxy connects to TARGET for each of them and
copies bytes both ways. CONTROL.json ({"delays": {"10.77.0.7": 1.2}}, seconds
per direction, by client address) is read again whenever it changes; a
chunk read at time t is written at t + the delay for its client at that
moment, in the order read, so a delayed stream is slow, never reordered. A
client address not listed passes at once.

The proxy's sockets to clients carry the same keepalives and user timeout as
the server's own, so a client cut off by a partition is dropped (and its
server session with it) as fast as without the proxy.
Python 3 standard library only.
"""
import asyncio
import json
import os
import socket
import sys

KEEPALIVE = ((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
             (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1),
             (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1),
             (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3),
             (socket.IPPROTO_TCP, getattr(socket, "TCP_USER_TIMEOUT", 18), 4000))


class Delays:
    def __init__(self, path):
        self.path = path
        self.mtime = None
        self.by_address = {}

    def refresh(self):
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            self.by_address = {}
            return
        if mtime != self.mtime:
            self.mtime = mtime
            try:
                with open(self.path) as f:
                    self.by_address = {k: float(v) for k, v in json.load(f)["delays"].items()}
            except (ValueError, KeyError, OSError):
                pass  # caught mid-write: the next look reads it whole

    def of(self, address):
        return self.by_address.get(address, 0.0)


async def pipe(reader, writer, delay_of):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        try:
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay_of(), data or None))
            if not data:
                break
    except (ConnectionError, OSError):
        queue.put_nowait((loop.time(), None))
    await sender


async def main(listen_host, listen_port, target_host, target_port, control):
    delays = Delays(control)

    async def refresher():
        while True:
            delays.refresh()
            await asyncio.sleep(0.05)

    async def serve(client_reader, client_writer):
        sock = client_writer.get_extra_info("socket")
        for level, option, value in KEEPALIVE:
            try:
                sock.setsockopt(level, option, value)
            except OSError:
                pass
        address = client_writer.get_extra_info("peername")[0]
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_writer.close()
            return
        delay_of = lambda: delays.of(address)  # noqa: E731  (read at each chunk)
        await asyncio.gather(pipe(client_reader, server_writer, delay_of),
                             pipe(server_reader, client_writer, delay_of))

    asyncio.create_task(refresher())
    server = await asyncio.start_server(serve, listen_host, listen_port, reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]))
