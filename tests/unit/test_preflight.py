"""Checks of the host that come before any change (tasks tagged mlp-preflight), run on this
machine in check mode: a host without systemd's journal is refused when the containers would
log there, naming the variable; another log driver passes."""

import os

import pytest

from conftest import assert_refused, local_playbook

JOURNAL = "/run/systemd/journal/socket"

pytestmark = pytest.mark.skipif(os.path.exists(JOURNAL), reason=f"this machine runs systemd's journal ({JOURNAL})")


def preflight(role, extra_vars, workdir):
    return local_playbook("validate_role.yml", {**extra_vars, "role_under_test": role}, workdir,
                          "--check", "--tags", "mlp-preflight")


@pytest.mark.parametrize("role", ["docker", "model_service"])
def test_journald_on_a_host_without_the_journal_is_refused(role, tmp_path):
    assert_refused(preflight(role, {}, tmp_path),
                   [f"{role}_log_driver: journald, but this host has no systemd journal", "json-file or local"])


@pytest.mark.parametrize("role", ["docker", "model_service"])
def test_a_file_log_driver_needs_no_journal(role, tmp_path):
    result = preflight(role, {f"{role}_log_driver": "json-file"}, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Check the host runs systemd's journal" in result.stdout  # the check was there, and skipped
