"""Bad input to role `swarm` fails in validation, naming the variable."""

import pytest

from conftest import assert_refused, batch_validation

VALID = {"swarm_group": "all", "swarm_managers": ["localhost"], "swarm_advertise_addr": "192.0.2.5"}


@pytest.mark.parametrize("extra", [
    {},
    {"swarm_advertise_addr": "eth0"},
    {"swarm_advertise_addr": "2001:db8::5"},
    {"swarm_node_labels": {"gpu": "true", "zone": "b"}, "swarm_node_availability": "drain"},
], ids=["ipv4", "interface", "ipv6", "labels"])
def test_valid_input_passes(run_role_validation, extra):
    result = run_role_validation("swarm", {**VALID, **extra})
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({"swarm_managers": "localhost"}, ["swarm_managers", "expected a list, got a string"],
                     id="managers-string"),
        pytest.param({"swarm_managers": []}, ["swarm_managers", "0 managers", "odd number"], id="no-manager"),
        pytest.param({"swarm_managers": ["localhost", "localhost", "localhost"]}, ["swarm_managers", "named twice"],
                     id="manager-twice"),
        pytest.param({"swarm_managers": ["prod9"]}, ["swarm_managers", "not hosts of group all: prod9"],
                     id="manager-outside-group"),
        pytest.param({"swarm_group": "nosuch"}, ["swarm_group", "no inventory group 'nosuch'"], id="unknown-group"),
        pytest.param({"swarm_group": "a group"}, ["swarm_group", "an inventory group name"], id="group-with-space"),
        pytest.param({"swarm_advertise_addr": "300.1.2.3"}, ["swarm_advertise_addr", "300.1.2.3"], id="bad-ipv4"),
        pytest.param({"swarm_advertise_addr": "http://10.0.0.1"}, ["swarm_advertise_addr", "an interface name"],
                     id="url-as-address"),
        pytest.param({"swarm_advertise_addr": ""}, ["swarm_advertise_addr", "is required"], id="no-address"),
        pytest.param({"swarm_listen_port": 0}, ["swarm_listen_port", "out of range (1-65535)"], id="port-zero"),
        pytest.param({"swarm_listen_port": 70000}, ["swarm_listen_port", "out of range"], id="port-high"),
        pytest.param({"swarm_node_availability": "drained"}, ["swarm_node_availability", "active, pause, drain"],
                     id="availability"),
        pytest.param({"swarm_node_labels": {"gpu": True}}, ["swarm_node_labels", "gpu", "quote"], id="label-bool"),
        pytest.param({"swarm_node_labels": {"bad key": "x"}}, ["swarm_node_labels", "bad key"], id="label-name"),
        pytest.param({"swarm_node_labels": "gpu=true"}, ["swarm_node_labels", "expected a dict"], id="labels-string"),
        pytest.param({"swarm_task_history_limit": -1}, ["swarm_task_history_limit", "out of range"], id="history"),
    ],
)
def test_bad_input_is_refused(run_role_validation, extra, expected):
    assert_refused(run_role_validation("swarm", {**VALID, **extra}), expected)


def swarm_node(managers):
    return {**VALID, "swarm_group": "all", "swarm_managers": managers}


def test_nodes_naming_different_managers_are_refused(tmp_path):
    """Two nodes in one play (case0, case1), each naming itself the manager: both are refused,
    each naming the other; naming the same manager, both pass."""
    results = batch_validation("swarm", {"first": swarm_node(["case0"]), "second": swarm_node(["case1"])}, tmp_path)
    assert_refused(results["first"], ["swarm_managers", "must name the same managers", "case0 names case0",
                                      "case1 names others"])
    assert_refused(results["second"], ["case1 names case1", "case0 names others"])
    agreeing = batch_validation("swarm", {"first": swarm_node(["case0"]), "second": swarm_node(["case0"])}, tmp_path)
    assert [agreeing[case].returncode for case in ("first", "second")] == [0, 0], agreeing["second"].stdout
