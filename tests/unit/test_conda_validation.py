"""Bad input to role `conda` fails in validation, naming the variable."""

import hashlib

import pytest

from conftest import assert_refused


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("conda", {})
    assert result.returncode == 0, result.stdout + result.stderr


def test_operator_installer_with_its_checksum_passes(run_role_validation, tmp_path):
    installer = tmp_path / "Miniforge3.sh"
    installer.write_bytes(b"#!/bin/sh\n")
    result = run_role_validation("conda", {
        "conda_installer_file": str(installer),
        "conda_installer_sha256": hashlib.sha256(installer.read_bytes()).hexdigest(),
    })
    assert result.returncode == 0, result.stdout + result.stderr


def test_operator_installer_with_a_wrong_checksum_is_refused(run_role_validation, tmp_path):
    installer = tmp_path / "Miniforge3.sh"
    installer.write_bytes(b"#!/bin/sh\n")
    result = run_role_validation("conda", {"conda_installer_file": str(installer)})
    assert result.returncode != 0
    assert "has sha256 " + hashlib.sha256(b"#!/bin/sh\n").hexdigest() in result.stdout
    assert "not conda_installer_sha256" in result.stdout


BAD_INPUT = [
    pytest.param({"conda_installer_sha256": "abc"}, ["conda_installer_sha256", "64"], id="short-sha"),
    pytest.param({"conda_installer_file": "/nonexistent/Miniforge3.sh"},
                 ["No such file", "/nonexistent/Miniforge3.sh"], id="missing-installer"),
    pytest.param({"conda_channels": ["conda-forge", "defaults"]},
                 ["conda_channels", "not \"defaults\""], id="defaults-channel"),
    pytest.param({"conda_environments": [{"name": "ds", "file": "/nonexistent/ds.yml"}]},
                 ["conda_environments", "/nonexistent/ds.yml"], id="missing-env-file"),
    pytest.param({"conda_environments": [{"file": "x.yml"}]},
                 ["conda_environments", "name"], id="env-without-name"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    assert_refused(validation_batch("conda", BAD_INPUT)(extra), expected)
