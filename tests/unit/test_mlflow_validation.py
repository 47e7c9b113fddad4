"""Bad input to roles `mlflow` and `postgresql` fails in validation, naming the variable,
before anything changes; no password is ever printed."""

import pytest

from conftest import assert_refused

DB_SECRET = "db-Secret-0123"
ADMIN_SECRET = "admin-Secret-0123"
ALICE_SECRET = "alice-Secret-0123"
VALID = {"mlflow_db_password": DB_SECRET, "mlflow_admin_password": ADMIN_SECRET,
         "mlflow_users": [{"name": "alice", "password": ALICE_SECRET}, {"name": "bob", "state": "absent"}]}
SECRETS = (DB_SECRET, ADMIN_SECRET, ALICE_SECRET, "short-pw")


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("mlflow", VALID)
    assert result.returncode == 0, result.stdout + result.stderr


BAD_INPUT = [
    pytest.param({"mlflow_db_password": ""}, ["mlflow_db_password", "empty"], id="no-db-password"),
    pytest.param({"mlflow_admin_password": ""}, ["mlflow_admin_password", "empty"], id="no-admin-password"),
    pytest.param({"mlflow_admin_password": "short-pw"}, ["mlflow_admin_password", "at least 12"],
                 id="short-admin-password"),
    pytest.param({"mlflow_users": "alice"}, ["mlflow_users", "list"], id="users-as-a-string"),
    pytest.param({"mlflow_users": [{"name": "alice"}]}, ["mlflow_users", "missing for alice"],
                 id="user-without-password"),
    pytest.param({"mlflow_users": [{"name": "alice", "password": "short-pw"}]},
                 ["mlflow_users[0].password", "at least 12"], id="short-user-password"),
    pytest.param({"mlflow_users": [{"name": "admin", "password": ALICE_SECRET}]},
                 ["mlflow_users", "named once"], id="user-named-as-the-admin"),
    pytest.param({"mlflow_users": [{"name": "al ice", "password": ALICE_SECRET}]},
                 ["mlflow_users[0].name", "al ice"], id="bad-user-name"),
    pytest.param({"mlflow_users": [{"name": "alice", "password": ALICE_SECRET, "state": "gone"}]},
                 ["mlflow_users", "state", "gone"], id="bad-state"),
    pytest.param({"mlflow_artifacts_dir": "artifacts"}, ["mlflow_artifacts_dir", "absolute"], id="relative-artifacts"),
    pytest.param({"mlflow_venv": "/opt"}, ["mlflow_venv", "below a top-level directory"], id="venv-at-top-level"),
    pytest.param({"mlflow_https_port": 70000}, ["mlflow_https_port", "65535"], id="port-out-of-range"),
    pytest.param({"mlflow_http_port": 443}, ["mlflow_http_port and mlflow_https_port"], id="same-ports"),
    pytest.param({"mlflow_db_port": 0}, ["mlflow_db_port"], id="db-port-zero"),
    pytest.param({"mlflow_workers": 0}, ["mlflow_workers"], id="no-workers"),
    pytest.param({"mlflow_default_permission": "WRITE"}, ["mlflow_default_permission", "WRITE"],
                 id="unknown-permission"),
    pytest.param({"mlflow_version": "latest"}, ["mlflow_version", "release number"], id="unpinned-version"),
    pytest.param({"mlflow_db_name": "ml flow; DROP"}, ["mlflow_db_name", "SQL name"], id="bad-db-name"),
    pytest.param({"mlflow_client_max_body_size": "-1"}, ["mlflow_client_max_body_size", "nginx size"],
                 id="bad-body-size"),
    pytest.param({"mlflow_tls_certificate": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----"},
                 ["mlflow_tls_certificate and mlflow_tls_private_key go together"], id="certificate-without-key"),
    pytest.param({"mlflow_tls_selfsigned_renew_days": 400}, ["mlflow_tls_selfsigned_renew_days"],
                 id="renew-after-expiry"),
    pytest.param({"mlflow_db_host": "db host"}, ["mlflow_db_host", "host name or address"], id="bad-db-host"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    result = validation_batch("mlflow", BAD_INPUT, VALID)(extra)
    assert_refused(result, expected)
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


def test_postgresql_valid_input_passes(run_role_validation):
    databases = [{"name": "mlflow", "owner": "mlflow", "password": DB_SECRET},
                 {"name": "mlflow_auth", "owner": "mlflow", "password": DB_SECRET}]
    result = run_role_validation("postgresql", {"postgresql_databases": databases})
    assert result.returncode == 0, result.stdout + result.stderr


POSTGRESQL_BAD_INPUT = [
    pytest.param({"postgresql_databases": "mlflow"}, ["postgresql_databases", "list"], id="a-string"),
    pytest.param({"postgresql_databases": [{"name": "mlflow", "owner": "mlflow", "password": ""}]},
                 ["postgresql_databases[0].password", "empty"], id="no-password"),
    pytest.param({"postgresql_databases": [{"name": "ML-flow", "owner": "mlflow", "password": DB_SECRET}]},
                 ["postgresql_databases[0].name", "SQL name"], id="bad-name"),
    pytest.param({"postgresql_databases": [{"name": "a", "owner": "o", "password": DB_SECRET},
                                           {"name": "b", "owner": "o", "password": ADMIN_SECRET}]},
                 ["an owner of several databases has the same password"], id="two-passwords-for-one-owner"),
    pytest.param({"postgresql_databases": [{"name": "a", "owner": "o", "password": DB_SECRET},
                                           {"name": "a", "owner": "p", "password": DB_SECRET}]},
                 ["each database is named once"], id="duplicate-database"),
]


@pytest.mark.parametrize(("extra", "expected"), POSTGRESQL_BAD_INPUT)
def test_postgresql_bad_input_is_refused(validation_batch, extra, expected):
    result = validation_batch("postgresql", POSTGRESQL_BAD_INPUT)(extra)
    assert_refused(result, expected)
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
