"""Bad input to role `airflow` and to the ML loop's quality gate (role `ml_project`, entry
point gate) fails in validation, naming the variable, before anything changes; no password
is ever printed."""

import pytest

from conftest import assert_refused

DB_SECRET = "db-Secret-0123"
ADMIN_SECRET = "admin-Secret-0123"
ALICE_SECRET = "alice-Secret-0123"
STEPS = {"train": ["ansible-playbook", "playbooks/train.yml"],
         "gate": ["ansible-playbook", "playbooks/quality_gate.yml", "-e", "quality_gate_revision={revision}"],
         "deploy": ["ansible-playbook", "playbooks/deploy_model.yml"]}
VALID = {"airflow_db_password": DB_SECRET, "airflow_admin_password": ADMIN_SECRET,
         "airflow_users": [{"name": "alice", "password": ALICE_SECRET}, {"name": "bob", "state": "absent"}],
         "airflow_ml_loop_steps": STEPS, "airflow_ml_loop_user": "ops", "airflow_ml_loop_workdir": "/home/ops/mlplatform",
         "airflow_ml_loop_environment": {"ANSIBLE_INVENTORY": "inventory/production/hosts.yml"},
         "airflow_ml_loop_schedule": "0 3 * * 1"}
SECRETS = (DB_SECRET, ADMIN_SECRET, ALICE_SECRET, "short-pw")


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("airflow", VALID)
    assert result.returncode == 0, result.stdout + result.stderr


BAD_INPUT = [
    pytest.param({"airflow_db_password": ""}, ["airflow_db_password", "empty"], id="no-db-password"),
    pytest.param({"airflow_admin_password": ""}, ["airflow_admin_password", "empty"], id="no-admin-password"),
    pytest.param({"airflow_admin_password": "short-pw"}, ["airflow_admin_password", "at least 12"],
                 id="short-admin-password"),
    pytest.param({"airflow_users": "alice"}, ["airflow_users", "list"], id="users-as-a-string"),
    pytest.param({"airflow_users": [{"name": "alice"}]}, ["airflow_users", "missing for alice"],
                 id="user-without-password"),
    pytest.param({"airflow_users": [{"name": "admin", "password": ALICE_SECRET}]},
                 ["airflow_users", "named once"], id="user-named-as-the-admin"),
    pytest.param({"airflow_users": [{"name": "alice", "password": ALICE_SECRET, "role": "Root"}]},
                 ["airflow_users", "role", "Root"], id="unknown-airflow-role"),
    pytest.param({"airflow_executor": "KubernetesExecutor"}, ["airflow_executor", "KubernetesExecutor"],
                 id="unknown-executor"),
    pytest.param({"airflow_version": "latest"}, ["airflow_version", "release number"], id="unpinned-version"),
    pytest.param({"airflow_version": "2.10.5"}, ["no constraints file for Airflow 2.10.5"],
                 id="release-without-constraints"),
    pytest.param({"airflow_home": "airflow"}, ["airflow_home", "absolute"], id="relative-home"),
    pytest.param({"airflow_venv": "/opt"}, ["airflow_venv", "below a top-level directory"], id="venv-at-top-level"),
    pytest.param({"airflow_https_port": 0}, ["airflow_https_port"], id="port-zero"),
    pytest.param({"airflow_parallelism": 0}, ["airflow_parallelism"], id="no-parallelism"),
    pytest.param({"airflow_db_name": "air flow"}, ["airflow_db_name", "SQL name"], id="bad-db-name"),
    pytest.param({"airflow_tls_selfsigned_renew_days": 400}, ["airflow_tls_selfsigned_renew_days"],
                 id="renew-after-expiry"),
    pytest.param({"airflow_ml_loop_steps": "ansible-playbook playbooks/train.yml"}, ["airflow_ml_loop_steps", "dict"],
                 id="steps-as-a-string"),
    pytest.param({"airflow_ml_loop_steps": {"train": ["true"], "gate": ["true"]}}, ["airflow_ml_loop_steps", "deploy"],
                 id="a-step-missing"),
    pytest.param({"airflow_ml_loop_steps": {**STEPS, "gate": []}}, ["each step", "non-empty"], id="an-empty-step"),
    pytest.param({"airflow_ml_loop_user": ""}, ["airflow_ml_loop_user (the operator"], id="loop-without-operator"),
    pytest.param({"airflow_ml_loop_user": "ops; rm"}, ["airflow_ml_loop_user", "account name"], id="bad-operator"),
    pytest.param({"airflow_ml_loop_workdir": "mlplatform"}, ["airflow_ml_loop_workdir", "absolute"],
                 id="relative-workdir"),
    pytest.param({"airflow_ml_loop_schedule": "every monday"}, ["airflow_ml_loop_schedule", "cron"],
                 id="bad-schedule"),
    pytest.param({"airflow_ml_loop_environment": {"ANSIBLE INVENTORY": "x"}}, ["airflow_ml_loop_environment"],
                 id="bad-environment-name"),
    pytest.param({"airflow_extra_dags": ["/srv/dags/loop.txt"]}, ["airflow_extra_dags", "Python file"],
                 id="extra-dag-not-python"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    result = validation_batch("airflow", BAD_INPUT, VALID)(extra)
    assert_refused(result, expected)
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
