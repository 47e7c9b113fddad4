"""Role `swarm`: three nodes form a swarm as the inventory says, a service spreads over them
and overlay networking connects them; managers are promoted and demoted by the inventory,
tokens never printed; a node leaves drained (its tasks move), a leave that would lose the
quorum is refused, a host of the group joins again; bad input is refused before any change.

The tests run once (not per host): they drive the three nodes themselves, in order."""

import json
import os
import time
from pathlib import Path

import pytest
import testinfra
from molecule_helpers import ROOT, run_playbook

CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"
LEAVE = ROOT / "playbooks" / "swarm_leave.yml"
DEBIAN = os.environ["MLP_DEBIAN"]
NODES = [f"mlp-{os.environ.get('MLP_ROLE', 'swarm')}-{n}-debian{DEBIAN}" for n in (1, 2, 3)]
IMAGE = f"mlplatform/python:{DEBIAN}"


@pytest.fixture(scope="module")
def nodes():
    return [testinfra.get_host(f"docker://{name}") for name in NODES]


def node_list(manager):
    """{hostname: {"role", "state", "availability", "manager_status", "labels"}} as a manager sees it."""
    ids = manager.check_output("docker node ls -q").split()
    found = {}
    for node in json.loads(manager.check_output("docker node inspect " + " ".join(ids))):
        found[node["Description"]["Hostname"]] = {
            "role": node["Spec"]["Role"],
            "state": node["Status"]["State"],
            "availability": node["Spec"]["Availability"],
            "manager_status": (node.get("ManagerStatus") or {}).get("Reachability"),
            "labels": node["Spec"].get("Labels") or {},
        }
    return found


def wait_for(what, check, seconds=90):
    """Poll check() until it returns something true; fail naming `what`."""
    deadline = time.time() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(2)


def join_tokens(manager):
    return [manager.check_output(f"docker swarm join-token -q {kind}") for kind in ("worker", "manager")]


def swarm_converge(*extra, expect_rc=0):
    """converge.yml's swarm role again (the engine is there), with more output than usual (-vv)."""
    return run_playbook(CONVERGE, "-vv", "--tags", "swarm", *extra, expect_rc=expect_rc)


@pytest.fixture(scope="module")
def web(nodes):
    """A service of three replicas, one a node, on an overlay network (DNS round robin: this
    kernel has no IPVS for Swarm's virtual IPs), on the harness's image loaded on every node."""
    for node in nodes:
        if node.run("docker image inspect %s", IMAGE).rc != 0:
            load = node.run("docker load -i /var/cache/mlplatform-images/mlplatform-python-%s.tar", DEBIAN)
            assert load.rc == 0, load.stderr
    manager = nodes[0]
    manager.run("docker service rm web; docker network rm web-net")
    manager.check_output("docker network create --driver overlay --attachable web-net")
    manager.check_output(f"docker service create --detach --name web --replicas 3 --replicas-max-per-node 1"
                         f" --endpoint-mode dnsrr --network web-net --no-resolve-image {IMAGE} python3 -m http.server 8000")
    yield "web"
    manager.run("docker service rm web")
    wait_for("the service's containers to go", lambda: manager.run("docker network rm web-net").rc == 0, 60)


def running_tasks(manager, service):
    """The nodes the service's running tasks are on."""
    out = manager.check_output(f"docker service ps {service} --filter desired-state=running"
                               " --format '{{.Node}} {{.CurrentState}}'")
    return [line.split()[0] for line in out.splitlines() if " Running " in f" {line} "]


def test_the_swarm_forms_as_the_inventory_says(nodes):
    seen = node_list(nodes[0])
    assert sorted(seen) == sorted(NODES)
    assert all(node["state"] == "ready" and node["availability"] == "active" for node in seen.values()), seen
    assert [name for name, node in seen.items() if node["role"] == "manager"] == [NODES[0]]
    assert seen[NODES[1]]["labels"] == {"zone": "b", "gpu": "false"}
    # Node 1 advertises an interface (swarm_advertise_addr: eth0): the swarm knows it by that
    # interface's address, where the others joined.
    eth0 = nodes[0].check_output("ip -4 -o addr show eth0").split()[3].split("/")[0]
    assert nodes[0].check_output("docker info --format '{{.Swarm.NodeAddr}}'") == eth0
    clusters = set()
    for node in nodes:
        info = json.loads(node.check_output("docker info --format '{{json .}}'"))
        assert info["Swarm"]["LocalNodeState"] == "active"
        assert info["LiveRestoreEnabled"] is False
        clusters.add(info["Swarm"]["Cluster"]["ID"] if info["Swarm"]["ControlAvailable"] else None)
    assert len(clusters - {None}) == 1


def test_a_service_spreads_over_the_nodes_and_the_overlay_connects_them(nodes, web):
    manager = nodes[0]
    placed = wait_for("three running replicas", lambda: len(running_tasks(manager, web)) == 3 and running_tasks(manager, web))
    assert sorted(placed) == sorted(NODES)
    # From a container on node 1, every replica answers over the overlay network (two of them
    # on other engines: VXLAN between the nodes).
    probe = manager.run(
        f"docker run --rm --network web-net {IMAGE} python3 -c \"import socket, urllib.request;"
        " ips = sorted({a[4][0] for a in socket.getaddrinfo('tasks.web', 8000)}); print(ips);"
        " [urllib.request.urlopen(f'http://{ip}:8000/', timeout=5) for ip in ips]; assert len(ips) == 3\"")
    assert probe.rc == 0, probe.stdout + probe.stderr


def test_managers_follow_the_inventory_and_no_token_is_printed(nodes):
    tokens = join_tokens(nodes[0])
    result = swarm_converge("-e", json.dumps({"swarm_managers": NODES}))
    seen = node_list(nodes[0])
    assert all(node["role"] == "manager" for node in seen.values()), seen
    assert all(node["manager_status"] in ("reachable", None) for node in seen.values())
    assert not any(token in result.stdout + result.stderr for token in tokens)


def test_leaving_without_confirmation_changes_nothing(nodes):
    result = run_playbook(LEAVE, "-e", f"node={NODES[2]}", expect_rc=2)
    assert "Not confirmed" in result.stdout
    assert node_list(nodes[0])[NODES[2]]["availability"] == "active"


def test_a_leave_that_would_lose_the_quorum_is_refused(nodes):
    # Node 3's engine stops: two of three managers remain, the swarm still works. Taking node 2
    # out would leave node 1 alone reachable of two managers: no majority.
    nodes[2].check_output("systemctl stop docker.socket docker")
    try:
        wait_for("node 3 to be seen unreachable",
                 lambda: node_list(nodes[0])[NODES[2]]["manager_status"] == "unreachable")
        result = run_playbook(LEAVE, "-e", f"node={NODES[1]}", "-e", "skip_confirmation=true", expect_rc=2)
        assert "would leave 2 managers of which 1 reachable" in result.stdout, result.stdout[-3000:]
        assert f"Bring {NODES[2]} back first" in result.stdout
        assert "Nothing was changed" in result.stdout
        seen = node_list(nodes[0])[NODES[1]]
        assert (seen["role"], seen["availability"]) == ("manager", "active")
    finally:
        nodes[2].check_output("systemctl start docker")
    wait_for("node 3 to be reachable again",
             lambda: node_list(nodes[0])[NODES[2]]["manager_status"] == "reachable")


def test_a_node_leaves_drained_and_its_tasks_move(nodes, web):
    manager = nodes[0]
    tokens = join_tokens(manager)
    wait_for("three running replicas", lambda: len(running_tasks(manager, web)) == 3)
    result = run_playbook(LEAVE, "-vv", "-e", f"node={NODES[2]}", "-e", "skip_confirmation=true")
    assert not any(token in result.stdout + result.stderr for token in tokens)
    assert sorted(node_list(manager)) == NODES[:2]
    assert nodes[2].check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "inactive"
    # One replica a node: two run, none on the node that left, and no task is left behind there.
    assert sorted(wait_for("the replicas on the nodes that stay", lambda: running_tasks(manager, web))) == NODES[:2]
    assert nodes[2].check_output("docker ps -q --filter label=com.docker.swarm.service.name=web") == ""
    # Again: the node is gone, nothing to do.
    again = run_playbook(LEAVE, "-e", f"node={NODES[2]}", "-e", "skip_confirmation=true")
    assert "changed=0" in again.stdout.split("PLAY RECAP")[1]


def test_a_host_of_the_group_joins_and_a_manager_no_longer_named_is_demoted(nodes, web):
    manager = nodes[0]
    tokens = join_tokens(manager)
    # The inventory's managers again (node 1 only): node 2 is demoted, node 3 joins as a worker.
    result = swarm_converge()
    seen = node_list(manager)
    assert sorted(seen) == sorted(NODES)
    assert {name: node["role"] for name, node in seen.items()} == {
        NODES[0]: "manager", NODES[1]: "worker", NODES[2]: "worker"}
    assert not any(token in result.stdout + result.stderr for token in tokens)
    # The service has room on node 3 again and uses it.
    assert sorted(wait_for("three running replicas", lambda: len(running_tasks(manager, web)) == 3
                           and running_tasks(manager, web))) == sorted(NODES)


@pytest.mark.parametrize(("extra", "message"), [
    ({"swarm_managers": NODES[:2]}, "a swarm needs an odd number of them"),
    ({"swarm_managers": NODES[0]}, "swarm_managers: expected a list, got a string"),
    ({"swarm_managers": ["prod9"]}, "swarm_managers: not hosts of group prod: prod9"),
    ({"swarm_advertise_addr": "999.1.1.1"}, "swarm_advertise_addr: must be an IPv4 or IPv6 address"),
    ({"swarm_group": "nosuchgroup"}, "swarm_group: no inventory group 'nosuchgroup'"),
    ({"swarm_node_labels": {"gpu": True}}, "quote numbers and true/false"),
])
def test_bad_input_is_refused_before_any_change(nodes, extra, message):
    before = node_list(nodes[0])
    result = swarm_converge("-e", json.dumps(extra), expect_rc=2)
    assert message in result.stdout, result.stdout[-3000:]
    assert node_list(nodes[0]) == before
