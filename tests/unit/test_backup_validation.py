"""Bad input to role `backup` fails in validation, naming the variable; the password is
never printed."""

import pytest

from conftest import assert_refused

SECRET = "s3cret-backup-pw"
# A local repository (the only inventory host here is this machine), allowed on the same disk.
VALID = {"backup_paths": ["/srv/dvc"], "backup_password": SECRET, "backup_allow_same_filesystem": True}


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("backup", VALID)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_paths_needs_no_password(run_role_validation):
    result = run_role_validation("backup", {"backup_paths": []})
    assert result.returncode == 0, result.stdout + result.stderr


BAD_INPUT = [
    pytest.param({"backup_password": ""}, ["backup_password: empty", "ansible-vault"], id="no-password"),
    pytest.param({"backup_paths": "/srv/dvc"}, ["backup_paths", "list"], id="paths-as-a-string"),
    pytest.param({"backup_paths": ["srv/dvc"]}, ["backup_paths[0]", "srv/dvc"], id="relative-path"),
    pytest.param({"backup_server": "nowhere1"}, ["backup_server: nowhere1 is not a host of the inventory"],
                 id="unknown-server"),
    pytest.param({"backup_server_port": 70000}, ["backup_server_port", "65535"], id="port-out-of-range"),
    pytest.param({"backup_keep_daily": -1}, ["backup_keep_daily", ">= 0"], id="negative-retention"),
    pytest.param({"backup_schedule": "daily; rm -rf /"}, ["backup_schedule", "calendar"], id="schedule-injection"),
    pytest.param({"backup_server_user": "Backup User"}, ["backup_server_user", "account name"], id="bad-account"),
    pytest.param({"backup_restore_snapshot": "yesterday"}, ["backup_restore_snapshot", "snapshot ID"],
                 id="bad-snapshot"),
    pytest.param({"backup_pre_commands": [{"name": "dump"}]}, ["backup_pre_commands", "command"],
                 id="pre-command-without-command"),
    pytest.param({"backup_restore_commands": [{"command": "true"}]}, ["backup_restore_commands", "name"],
                 id="restore-command-without-name"),
    pytest.param({"backup_restore_services": ["jupyterhub; reboot"]}, ["backup_restore_services[0]", "unit"],
                 id="restore-service-injection"),
    pytest.param({"backup_restore_services": "jupyterhub"}, ["backup_restore_services", "list"],
                 id="restore-services-as-a-string"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    result = validation_batch("backup", BAD_INPUT, VALID)(extra)
    assert_refused(result, expected)
    assert SECRET not in result.stdout + result.stderr


def test_a_server_that_is_the_host_itself_is_refused(run_role_validation):
    # Not in the batch above: the check compares with the host's own inventory name.
    result = run_role_validation("backup", dict(VALID, backup_server="localhost"))
    assert_refused(result, ["backup_server: localhost is this host"])


def test_a_local_repository_on_the_disk_it_protects_is_refused(run_role_validation, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    local = dict(VALID, backup_paths=[str(data)], backup_local_path=str(tmp_path / "repo"),
                 backup_allow_same_filesystem=False)
    assert_refused(run_role_validation("backup", local),
                   ["backup_local_path", "is on the filesystem of", str(data), "backup_allow_same_filesystem"])
    result = run_role_validation("backup", dict(local, backup_allow_same_filesystem=True))
    assert result.returncode == 0, result.stdout + result.stderr
