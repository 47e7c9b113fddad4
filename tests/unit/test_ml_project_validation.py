"""Bad input to role `ml_project` fails in validation, naming the variable."""

import os

import pytest

from conftest import ROOT, assert_refused

VALID = {"ml_project_git_repo": "ssh://data/srv/git/iris_project.git", "ml_project_user": "root",
         "ml_project_seed_dir": str(ROOT / "examples" / "iris_project")}


BAD_INPUT = [
    pytest.param({"ml_project_git_repo": ""}, ["ml_project_git_repo", "required"], id="no-repo"),
    pytest.param({"ml_project_user": "nobody-here"}, ["ml_project_user", "no account", "nobody-here"],
                 id="unknown-user"),
    pytest.param({"ml_project_dir": "srv/ml"}, ["ml_project_dir", "absolute", "srv/ml"], id="relative-dir"),
    pytest.param({"ml_project_name": "team/iris"}, ["ml_project_name", "team/iris"], id="name-with-slash"),
    pytest.param({"ml_project_metrics_file": "../m.json"}, ["ml_project_metrics_file", "../m.json"],
                 id="metrics-outside"),
    pytest.param({"ml_project_seed_dir": "/no/such/seed"}, ["ml_project_seed_dir", "/no/such/seed"],
                 id="missing-seed"),
    pytest.param({"ml_project_push": "maybe"}, ["ml_project_push", "bool"], id="push-not-a-bool"),
    pytest.param({"ml_project_mlflow_tracking_uri": "https://admin1"}, ["ml_project_mlflow_password", "not shown"],
                 id="tracking-without-password"),
    pytest.param({"ml_project_mlflow_tracking_uri": "ftp://admin1"}, ["ml_project_mlflow_tracking_uri"],
                 id="tracking-uri-scheme"),
    pytest.param({"ml_project_mlflow_tracking_uri": "https://admin1", "ml_project_mlflow_password": "Sekret-Sekret-1",
                  "ml_project_mlflow_ca_certificate": "not a certificate"},
                 ["ml_project_mlflow_ca_certificate", "PEM"], id="ca-not-pem"),
    pytest.param({"ml_project_mlflow_registered_model": "iris/prod"}, ["ml_project_mlflow_registered_model"],
                 id="bad-registered-model"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    result = validation_batch("ml_project", BAD_INPUT, VALID)(extra)
    assert_refused(result, expected)
    assert "Sekret-Sekret-1" not in result.stdout


@pytest.mark.skipif(os.path.exists("/usr/local/bin/dvc"), reason="this machine has DVC (/usr/local/bin/dvc)")
def test_a_host_without_dvc_is_refused_with_the_fix(run_role_validation):
    # Valid input on a machine without DVC: every other check passes, then this one names it.
    result = run_role_validation("ml_project", VALID)
    assert_refused(result, ["DVC is not installed", "role dvc"])
