"""Role `swarm`: three nodes form a swarm as the inventory says, a service spreads over them
and overlay networking connects them; managers are promoted and demoted by the inventory,
tokens never printed; a node leaves drained (its tasks move), a leave that would lose the
quorum is refused, a host of the group joins again; bad input is refused before any change.
The model service in swarm mode runs across the nodes, answers on each, updates under load
without losing a request and is rolled back by the swarm when broken.

The tests run once (not per host): they drive the three nodes themselves, in order."""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import testinfra
from molecule_helpers import ROOT, KeepAliveClients, assert_unchanged, run_playbook

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


def wait_for(what, check, seconds=90, seen=None):
    """Poll check() until it returns something true; fail naming `what` (and what seen()
    reports then)."""
    deadline = time.time() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.time() < deadline, f"timed out waiting for {what}" + (f": {seen()}" if seen else "")
        time.sleep(2)


def join_tokens(manager):
    return [manager.check_output(f"docker swarm join-token -q {kind}") for kind in ("worker", "manager")]


def swarm_converge(*extra, expect_rc=0):
    """converge.yml's swarm role again (the engine is there), with more output than usual (-vv)."""
    return run_playbook(CONVERGE, "-vv", "--tags", "swarm", *extra, expect_rc=expect_rc)


@pytest.fixture(scope="module")
def base_image(nodes):
    """The harness's Python image, loaded on every node (nothing can be pulled)."""
    for node in nodes:
        if node.run("docker image inspect %s", IMAGE).rc != 0:
            load = node.run("docker load -i /var/cache/mlplatform-images/mlplatform-python-%s.tar", DEBIAN)
            assert load.rc == 0, load.stderr
    return IMAGE


@pytest.fixture(scope="module")
def web(nodes, base_image):
    """A service of three replicas, one a node, on an overlay network (DNS round robin: this
    kernel has no IPVS for Swarm's virtual IPs), on the harness's image loaded on every node."""
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


# The model service in swarm mode (role model_service, model_service_mode swarm), deployed
# with the real playbooks: one service across the nodes, nginx on each.
SECRET = "not-a-real-secret-5c1d"
DEPLOY = ROOT / "playbooks" / "deploy_model.yml"
SWARM_MODE = ["-e", json.dumps({"model_service_mode": "swarm", "model_service_base_image": IMAGE,
                                "model_service_replicas": 2, "model_service_workers": 1,
                                "model_service_health_timeout": 60, "model_service_log_driver": "json-file",
                                "model_service_secret_env": {"MODEL_SERVICE_TEST_SECRET": SECRET}})]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]


def node_url(name):
    network = f"mlp-{os.environ.get('MLP_ROLE', 'swarm')}-debian{DEBIAN}"
    address = subprocess.run(["docker", "inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}",
                              name], capture_output=True, text=True, check=True).stdout.strip()
    return f"http://{address}:80"


def predict(url, row):
    request = urllib.request.Request(f"{url}/predict", data=json.dumps(row).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["prediction"]


def service_tasks(manager):
    """The model service's running tasks: [(node, env list)]."""
    ids = manager.check_output("docker service ps -q --filter desired-state=running model-service").split()
    tasks = json.loads(manager.check_output("docker inspect " + " ".join(ids))) if ids else []
    return [(node_names(manager)[task["NodeID"]], task["Spec"]["ContainerSpec"].get("Env", []))
            for task in tasks if task["Status"]["State"] == "running"]


def node_names(manager):
    ids = manager.check_output("docker node ls -q").split()
    return {node["ID"]: node["Description"]["Hostname"]
            for node in json.loads(manager.check_output("docker node inspect " + " ".join(ids)))}


@pytest.fixture(scope="module")
def model(nodes, base_image):
    deploy = run_playbook(DEPLOY, *SWARM_MODE)
    yield deploy
    # The last test decommissions it; when a test before it failed, this leaves nothing behind.
    if nodes[0].run("docker service inspect model-service").rc == 0:
        run_playbook(ROOT / "playbooks" / "decommission_model.yml", *SWARM_MODE, expect_rc=None)


def test_the_model_service_runs_across_the_swarm_and_answers_on_every_node(nodes, model):
    manager = nodes[0]
    tasks = service_tasks(manager)
    assert len(tasks) == 2 and len({node for node, _ in tasks}) == 2, tasks
    # Every node's nginx answers, the one with no task of the service too (overlay network).
    for name in NODES:
        assert predict(node_url(name), VIRGINICA) == 2, name
    service = json.loads(manager.check_output("docker service inspect model-service"))[0]["Spec"]
    assert service["EndpointSpec"]["Mode"] == "dnsrr"
    assert service["UpdateConfig"]["Order"] == "start-first"
    assert service["UpdateConfig"]["FailureAction"] == "rollback"
    container = service["TaskTemplate"]["ContainerSpec"]
    assert container["ReadOnly"] is True and container["CapabilityDrop"] == ["ALL"]
    network = json.loads(manager.check_output("docker network inspect model-service-swarm"))[0]
    assert network["Internal"] is True and network["Driver"] == "overlay"


def test_the_services_secret_is_a_swarm_secret_the_process_sees_and_nobody_prints(nodes, model):
    manager = nodes[0]
    assert SECRET not in model.stdout + model.stderr
    assert SECRET not in manager.check_output("docker service inspect model-service")
    (mounted,) = json.loads(manager.check_output("docker service inspect model-service"))[0]["Spec"][
        "TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert mounted["File"]["Name"] == "MODEL_SERVICE_TEST_SECRET"
    assert mounted["SecretName"].startswith("model-service-MODEL_SERVICE_TEST_SECRET_v")
    # gunicorn (the image's entrypoint exported the file, then ran it) has it in its environment.
    seen = 0
    for node in nodes:
        for container in node.check_output("docker ps -q --filter label=org.mlplatform.revision").split():
            environ = node.check_output("docker exec %s cat /proc/1/environ", container).split("\0")
            assert f"MODEL_SERVICE_TEST_SECRET={SECRET}" in environ
            assert node.check_output("docker exec %s cat /proc/1/cmdline", container).startswith("/opt/venv/bin/python")
            seen += 1
    assert seen == 2


def test_a_rolling_update_on_the_swarm_loses_no_request(nodes, model):
    """Keep-alive clients on two nodes' nginx through an update of the service (a setting
    changes: new tasks, one at a time, started first); then a second run changes nothing."""
    manager = nodes[0]
    changed = SWARM_MODE + ["-e", json.dumps({"model_service_env": {"MAX_BATCH_ROWS": "500"}})]
    with KeepAliveClients(node_url(NODES[0]), VIRGINICA, 2, clients=2) as first, \
            KeepAliveClients(node_url(NODES[2]), VIRGINICA, 2, clients=2) as third:
        run_playbook(DEPLOY, *changed)
    first.check(least=100)
    third.check(least=100)
    tasks = service_tasks(manager)
    assert len(tasks) == 2 and all("MAX_BATCH_ROWS=500" in env for _, env in tasks), tasks
    again = run_playbook(DEPLOY, *changed)
    assert_unchanged(again)
    dry = run_playbook(DEPLOY, *changed, "--check")
    assert_unchanged(dry)


def test_a_broken_version_is_rolled_back_by_the_swarm(nodes, model):
    """A setting the app cannot start with: the swarm's update fails on its first task and
    rolls back by itself; clients see nothing of it and the play fails saying so."""
    manager = nodes[0]
    broken = SWARM_MODE + ["-e", json.dumps({"model_service_env": {"MAX_BATCH_ROWS": "not-a-number"},
                                             "model_service_health_timeout": 20})]
    with KeepAliveClients(node_url(NODES[1]), VIRGINICA, 2, clients=2) as load:
        deploy = run_playbook(DEPLOY, *broken, expect_rc=2)
    load.check(least=50)
    assert "the swarm rolled back" in deploy.stdout and "keeps serving" in deploy.stdout, deploy.stdout[-3000:]
    tasks = service_tasks(manager)
    assert len(tasks) == 2 and all("MAX_BATCH_ROWS=500" in env for _, env in tasks), tasks
    state = json.loads(manager.check_output("cat /var/lib/mlplatform/model-service/model-service.json"))
    assert state["current"]["mode"] == "swarm"


def test_a_manual_rollback_on_the_swarm_loses_no_request(nodes, model):
    """rollback_model.yml returns to the version recorded before the update (the first
    deployment's settings) through the same start-first update, under keep-alive clients."""
    manager = nodes[0]
    with KeepAliveClients(node_url(NODES[0]), VIRGINICA, 2, clients=2) as load:
        run_playbook(ROOT / "playbooks" / "rollback_model.yml", *SWARM_MODE)
    load.check(least=50)
    tasks = service_tasks(manager)
    assert len(tasks) == 2 and not any("MAX_BATCH_ROWS=500" in env for _, env in tasks), tasks


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
        # The managers' heartbeats notice it; on a loaded machine (a CI run of 2026-12-07 with
        # the lab beside it) that took longer than 90 s once.
        wait_for("node 3 to be seen unreachable",
                 lambda: node_list(nodes[0])[NODES[2]]["manager_status"] == "unreachable", seconds=240,
                 seen=lambda: (node_list(nodes[0]), nodes[2].run("systemctl is-active docker").stdout.strip()))
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


def test_a_node_leaves_drained_and_its_tasks_move(nodes, web, model):
    manager = nodes[0]
    tokens = join_tokens(manager)
    wait_for("three running replicas", lambda: len(running_tasks(manager, web)) == 3)
    wait_for("the model service's two tasks", lambda: len(service_tasks(manager)) == 2)
    # The model service answers through node 1's nginx while node 3 drains and leaves.
    with KeepAliveClients(node_url(NODES[0]), VIRGINICA, 2, clients=2) as load:
        result = run_playbook(LEAVE, "-vv", "-e", f"node={NODES[2]}", "-e", "skip_confirmation=true")
    load.check(least=50)
    placed = [node for node, _ in service_tasks(manager)]
    assert len(placed) == 2 and set(placed) <= set(NODES[:2]), placed
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


def test_a_node_that_rejoined_serves_the_model_again_after_a_deploy(nodes, model):
    """Node 3 left (its nginx container stayed) and joined again as a worker: the next deploy
    succeeds on the three nodes and node 3's nginx answers."""
    result = run_playbook(DEPLOY, *SWARM_MODE)
    assert "failed=0" in result.stdout.split("PLAY RECAP")[1]
    assert wait_for("node 3's nginx to answer", lambda: answers(node_url(NODES[2])), 60)


def answers(url):
    try:
        return predict(url, VIRGINICA) == 2
    except OSError:
        return False


def test_the_engine_of_a_swarm_node_is_not_uninstalled(nodes):
    """playbooks/decommission.yml refuses to take the engine from a node of the swarm."""
    result = run_playbook(ROOT / "playbooks" / "decommission.yml", "--tags", "docker", "--limit", NODES[2],
                          "-e", "skip_confirmation=true", expect_rc=2)
    assert "is a node of a Docker Swarm" in result.stdout and "swarm_leave.yml" in result.stdout, result.stdout[-2000:]
    assert nodes[2].check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "active"


def test_decommission_removes_the_service_from_every_node(nodes, model):
    run_playbook(ROOT / "playbooks" / "decommission_model.yml", *SWARM_MODE)
    manager = nodes[0]
    assert manager.run("docker service inspect model-service").rc != 0
    assert manager.check_output("docker secret ls -q --filter label=org.mlplatform.model-service") == ""
    assert manager.run("docker network inspect model-service-swarm").rc != 0
    for node in nodes:
        assert node.check_output("docker ps -aq --filter label=org.mlplatform.model-service") == ""
