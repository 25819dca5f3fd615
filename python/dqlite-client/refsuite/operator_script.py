"""An operator's script written for the pure-Python dqlite-client 0.8.0's ClusterClient.

It uses the reference's API only, and runs unchanged on the reference and on ours:
``tests/test_operator_script.py`` runs it on ours, and
``python operator_script.py ...`` with the reference installed runs it there. It adds a
node, makes it a voter, hands it the lead, takes the lead back, removes the node, and
dumps a database. Prints one JSON line of what it saw.

Usage: python operator_script.py SEEDS NODE_ID NODE_ADDRESS DATABASE OUT_DIR
(SEEDS comma-separated ``host:port``).
"""

import asyncio
import json
import sys
from pathlib import Path

from dqliteclient import ClusterClient, MemoryNodeStore, OperationalError
from dqlitewire import NodeRole


async def until(what, probe, timeout=30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            value = await probe()
            if value:
                return value
        except OperationalError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise SystemExit(f"timed out: {what}")
        await asyncio.sleep(0.3)


async def role_of(cluster, node_id):
    for node in await cluster.cluster_info():
        if node.node_id == node_id:
            return node.role
    return None


async def lead(cluster, node_id):
    async def probe():
        info = await cluster.leader_info()
        if info is not None and info.node_id == node_id:
            return True
        await cluster.transfer_leadership(node_id)
        return False

    await until(f"node {node_id} leads", probe)


async def main(seeds, node_id, address, database, out_dir):
    cluster = ClusterClient(MemoryNodeStore(seeds), timeout=5.0)
    seen = {"members_before": len(await cluster.cluster_info())}
    conn = await cluster.connect(database)
    await conn.execute("CREATE TABLE IF NOT EXISTS ops (n INTEGER)")
    async with conn.transaction():
        for n in range(10):
            await conn.execute("INSERT INTO ops VALUES (?)", [n])
    await conn.close()

    await cluster.add_node(node_id, address)
    seen["role_after_add"] = (await role_of(cluster, node_id)).name
    await cluster.assign_role(node_id, NodeRole.VOTER)
    await until("voter", lambda: _is(cluster, node_id, NodeRole.VOTER))
    seen["role_after_assign"] = "VOTER"

    first = (await cluster.leader_info()).node_id
    await lead(cluster, node_id)
    seen["leader_address"] = (await cluster.leader_info()).address
    await lead(cluster, first)
    await cluster.assign_role(node_id, NodeRole.SPARE)
    await until("spare", lambda: _is(cluster, node_id, NodeRole.SPARE))
    await cluster.remove_node(node_id)
    await until("removed", lambda: _gone(cluster, node_id))
    seen["members_after"] = len(await cluster.cluster_info())

    files = await cluster.dump(database)
    out = Path(out_dir)
    for name, data in files.items():
        (out / name).write_bytes(data)
    seen["dumped"] = sorted(files)
    print(json.dumps(seen))


async def _is(cluster, node_id, role):
    return await role_of(cluster, node_id) == role


async def _gone(cluster, node_id):
    return await role_of(cluster, node_id) is None


if __name__ == "__main__":
    seeds, node_id, address, database, out_dir = sys.argv[1:6]
    asyncio.run(main(seeds.split(","), int(node_id), address, database, out_dir))
