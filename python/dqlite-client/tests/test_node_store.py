"""Node stores, with go-dqlite's YAML files read and written by the Rust client's store."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dqliteclient import ClusterError, InterfaceError, MemoryNodeStore, NodeInfo, YamlNodeStore
from dqliteclient import blocking as sync
from dqlitewire import NodeRole

REPO = Path(__file__).resolve().parents[3]
GO_FIXTURE = REPO / "crates/dqlite-shell/tests/fixtures/go-dqlite-1.11.5/cluster.yaml"


async def test_memory_store_seeds_voters_and_drops_duplicates() -> None:
    store = MemoryNodeStore(["127.0.0.1:9001", "127.0.0.1:9002", " 127.0.0.1:9001"])
    nodes = await store.get_nodes()
    assert nodes == (
        NodeInfo(1, "127.0.0.1:9001", NodeRole.VOTER),
        NodeInfo(2, "127.0.0.1:9002", NodeRole.VOTER),
    )
    await store.set_nodes([NodeInfo(5, "[::1]:9005", NodeRole.SPARE)])
    assert await store.get_nodes() == (NodeInfo(5, "[::1]:9005", NodeRole.SPARE),)
    with pytest.raises(ValueError, match="host:port"):
        MemoryNodeStore(["no-port"])


async def test_memory_store_refuses_use_after_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryNodeStore(["127.0.0.1:9001"])
    real = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: real + 1)
    with pytest.raises(InterfaceError, match="after fork"):
        await store.get_nodes()


async def test_a_file_go_dqlite_wrote(tmp_path: Path) -> None:
    # go-dqlite 1.11.5's own cluster.yaml, less its abstract-socket node ("@dqlite-3"),
    # which a host:port store cannot hold.
    lines = GO_FIXTURE.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "@dqlite-3" in line)
    path = tmp_path / "cluster.yaml"
    path.write_text("".join(lines[:start] + lines[start + 3 :]))
    nodes = await YamlNodeStore(path).get_nodes()
    assert nodes == (
        NodeInfo(3297041220608546238, "127.0.0.1:9001", NodeRole.VOTER),
        NodeInfo(17487065021036315201, "[::1]:9002", NodeRole.STANDBY),
        NodeInfo(6, "1:20", NodeRole.VOTER),
        NodeInfo(7, "node-5.example:9005", NodeRole.SPARE),
    )


async def test_write_then_read_back(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    store = YamlNodeStore(path)
    assert await store.get_nodes() == ()
    nodes = [
        NodeInfo(1, "10.0.0.1:9001", NodeRole.VOTER),
        NodeInfo(2, "[::1]:9002", NodeRole.SPARE),
    ]
    await store.set_nodes(nodes)
    assert await store.get_nodes() == tuple(nodes)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == (
        "- ID: 1\n  Address: 10.0.0.1:9001\n  Role: 0\n"
        "- ID: 2\n  Address: '[::1]:9002'\n  Role: 2\n"
    )
    assert await YamlNodeStore(path).get_nodes() == tuple(nodes)
    again = await YamlNodeStore.create(path)
    assert again.path == path


async def test_hand_written_files(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(
        "# edited by hand\n- id: 3\n  address: h:1\n  role: standby\n- ID: 4\n  Address: h:2\n"
    )
    assert await YamlNodeStore(path).get_nodes() == (
        NodeInfo(3, "h:1", NodeRole.STANDBY),
        NodeInfo(4, "h:2", NodeRole.VOTER),
    )
    path.write_text("- {ID: 1, Address: h:1}\n")
    with pytest.raises(ClusterError, match="cannot read"):
        YamlNodeStore(path)


def test_blocking_client_reads_a_yaml_store(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text("- ID: 1\n  Address: 127.0.0.1:1\n  Role: 0\n")
    client = sync.ClusterClient(YamlNodeStore(path), timeout=0.5)
    with pytest.raises(ClusterError, match="Could not find leader"):
        client.find_leader()
