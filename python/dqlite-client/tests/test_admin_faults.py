"""Admin calls whose answer is lost: the change may have been applied, and the error says so."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import pytest
from dqlite_testkit import Cluster

from dqliteclient import ClusterClient, MemoryNodeStore, OutcomeUnknownError
from dqlitewire import NodeRole
from helpers import client_for, wait_until

# Request types (docs/protocol.md): ADD, ASSIGN.
ADD, ASSIGN = 12, 13


class CutAnswers:
    """A ``dial_func`` relaying to the real node, which drops the answer to the first
    request of a type in ``cut`` and closes the connection: the node got the request whole
    and ran it, the client never learns how it went."""

    def __init__(self, cut: set[int]) -> None:
        self.cut = cut
        self.cuts = 0
        self._lock = threading.Lock()

    async def dial(self, address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = address.rsplit(":", 1)
        node = socket.create_connection((host, int(port)))
        mine, theirs = socket.socketpair()
        cutting = threading.Event()
        threading.Thread(target=self._up, args=(theirs, node, cutting), daemon=True).start()
        threading.Thread(target=self._down, args=(node, theirs, cutting), daemon=True).start()
        return await asyncio.open_connection(sock=mine)

    def _up(self, client: socket.socket, node: socket.socket, cutting: threading.Event) -> None:
        """Client to node, frame by frame after the 8-byte protocol version."""
        buf = b""
        handshake = True
        try:
            while data := client.recv(65536):
                buf += data
                while True:
                    if handshake:
                        if len(buf) < 8:
                            break
                        node.sendall(buf[:8])
                        buf, handshake = buf[8:], False
                        continue
                    if len(buf) < 8:
                        break
                    size = 8 + int.from_bytes(buf[:4], "little") * 8
                    if len(buf) < size:
                        break
                    with self._lock:
                        if buf[4] in self.cut and not self.cuts:
                            self.cuts += 1
                            # Set before the node can answer: its answer is dropped.
                            cutting.set()
                    node.sendall(buf[:size])
                    buf = buf[size:]
        except OSError:
            pass

    @staticmethod
    def _down(node: socket.socket, client: socket.socket, cutting: threading.Event) -> None:
        try:
            while data := node.recv(65536):
                if cutting.is_set():
                    break
                client.sendall(data)
        except OSError:
            pass
        for s in (client, node):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def cutting_client(cluster: Cluster, cut: set[int]) -> tuple[ClusterClient, CutAnswers]:
    relay = CutAnswers(cut)
    client = ClusterClient(MemoryNodeStore(cluster.addresses), timeout=5.0, dial_func=relay.dial)
    return client, relay


async def test_a_lost_answer_to_add_is_outcome_unknown_and_the_node_was_added(
    own_cluster: Cluster,
) -> None:
    client, relay = cutting_client(own_cluster, {ADD})
    with pytest.raises(OutcomeUnknownError, match="outcome unknown"):
        await client.add_node(42, "127.0.0.1:1")
    assert relay.cuts == 1
    members = await wait_until(
        "node 42 listed",
        client_for(own_cluster).cluster_info,
        lambda m: any(n.node_id == 42 for n in m),
    )
    assert next(n.role for n in members if n.node_id == 42) == NodeRole.SPARE


async def test_add_node_says_the_node_was_added_when_the_assign_fails(
    own_cluster: Cluster,
) -> None:
    client, relay = cutting_client(own_cluster, {ASSIGN})
    with pytest.raises(OutcomeUnknownError) as raised:
        await client.add_node(43, "127.0.0.1:1", role=NodeRole.STANDBY)
    assert relay.cuts == 1
    message = str(raised.value)
    assert "node 43 was added as a spare" in message, message
    assert "STANDBY" in message, message
    members = await client_for(own_cluster).cluster_info()
    assert any(n.node_id == 43 for n in members), members
