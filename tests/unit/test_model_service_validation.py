"""Bad input to role `model_service` fails in validation, naming the variable -- and a
secret in the service's environment is never printed, not even in an error."""

import pytest

from conftest import assert_refused

SECRET = "s3cr3t-value-that-must-not-show"


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("model_service", {
        "model_service_source": "git",
        "model_service_git_repo": "https://git.example.com/team/service.git",
        "model_service_memory": "1g",
        "model_service_worker_class": "gthread",
        "model_service_wsgi_app": "service.wsgi:application",
        "model_service_env": {"LOG_LEVEL": "info"},
        "model_service_secret_env": {"API_TOKEN": SECRET},
    })
    assert result.returncode == 0, result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr


BAD_INPUT = [
    pytest.param({"model_service_source": "s3"}, ["model_service_source", "example, git, project"],
                 id="unknown-source"),
    pytest.param({"model_service_source": "project", "model_service_project_user": "alice"},
                 ["required but empty: model_service_project_repo"], id="project-without-repo"),
    pytest.param({"model_service_source": "project", "model_service_project_repo": "ssh://data/x.git"},
                 ["required but empty: model_service_project_user"], id="project-without-user"),
    pytest.param({"model_service_source": "project", "model_service_project_repo": "ssh://data/x.git",
                  "model_service_project_user": "alice", "model_service_project_model_path": "/etc/passwd"},
                 ["model_service_project_model_path", "/etc/passwd"], id="project-model-outside"),
    pytest.param({"model_service_source": "git"}, ["model_service_git_repo must be set"],
                 id="git-without-repo"),
    pytest.param({"model_service_name": "Model_Service"}, ["model_service_name", "Model_Service"],
                 id="bad-name"),
    pytest.param({"model_service_memory": "512MB"}, ["model_service_memory", "512MB"],
                 id="memory-unit"),
    pytest.param({"model_service_replicas": 0}, ["model_service_replicas", ">= 1"],
                 id="no-replicas"),
    pytest.param({"model_service_http_port": 70000}, ["model_service_http_port", "70000"],
                 id="port-range"),
    pytest.param({"model_service_model_file": "../etc/passwd"}, ["model_service_model_file", "../etc/passwd"],
                 id="model-outside-source"),
    pytest.param({"model_service_cpus": "two"}, ["model_service_cpus", "float"], id="cpus-not-a-number"),
    pytest.param({"model_service_worker_class": 'gthread"; import os'},
                 ["model_service_worker_class", "gthread or a dotted class path"], id="worker-class"),
    pytest.param({"model_service_wsgi_app": "app"}, ["model_service_wsgi_app", "module:variable"],
                 id="app-without-variable"),
    pytest.param({"model_service_mode": "kubernetes"}, ["model_service_mode", "single, swarm"], id="mode"),
    pytest.param({"model_service_swarm_constraints": "node.labels.zone==b"},
                 ["model_service_swarm_constraints", "a list"], id="constraints-a-string"),
    pytest.param({"model_service_swarm_constraints": ["node.labels.zone=b"]},
                 ["model_service_swarm_constraints[0]", "a placement constraint"], id="constraint-form"),
    pytest.param({"model_service_swarm_update_monitor": 0}, ["model_service_swarm_update_monitor", ">= 1"],
                 id="monitor"),
    pytest.param({"model_service_mode": "swarm", "model_service_secret_env": {"A" * 50: "x", "SHORT": "y"}},
                 ["model_service_secret_env", "at most 64 characters; too long for: " + "A" * 50],
                 id="secret-name-too-long-for-swarm"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    assert_refused(validation_batch("model_service", BAD_INPUT)(extra), expected)


def test_a_bad_secret_name_is_refused_without_printing_the_value(run_role_validation):
    result = run_role_validation("model_service", {"model_service_secret_env": {"BAD-NAME": SECRET}})
    assert_refused(result, ["model_service_secret_env", "BAD-NAME"])
    assert SECRET not in result.stdout + result.stderr


def test_numbers_given_on_the_command_line_are_accepted(run_role_validation):
    """-e key=value gives strings; the role must compare them as numbers."""
    result = run_role_validation("model_service", {}, "-e", "model_service_replicas=3",
                                 "-e", "model_service_health_timeout=20", "-e", "model_service_cpus=0.5")
    assert result.returncode == 0, result.stdout + result.stderr
