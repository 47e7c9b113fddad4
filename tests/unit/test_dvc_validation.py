"""Bad input to role `dvc` fails in validation, naming the variable."""

import pytest

from conftest import assert_refused

VALID = {"dvc_remote_url": "ssh://data/srv/dvc", "dvc_storage_host": ""}


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("dvc", VALID)
    assert result.returncode == 0, result.stdout + result.stderr


BAD_INPUT = [
    pytest.param({"dvc_remote_type": "ftp"},
                 ["dvc_remote_type", "ssh, s3, local"], id="unknown-remote-type"),
    pytest.param({"dvc_remote_url": ""},
                 ["dvc_remote_url is required"], id="missing-remote-url"),
    pytest.param({"dvc_remote_url": "data:/srv/dvc"},
                 ["dvc_remote_url does not fit dvc_remote_type ssh", "ssh://HOST/PATH"],
                 id="scp-style-url"),
    pytest.param({"dvc_remote_type": "s3", "dvc_remote_url": "s3://bucket/dvc"},
                 ["dvc_extras", "lacks 's3'"], id="s3-without-extra"),
    pytest.param({"dvc_remote_type": "local", "dvc_remote_url": "srv/dvc"},
                 ["does not fit dvc_remote_type local", "absolute path"], id="relative-local"),
    pytest.param({"dvc_ssh_users": ["alice"], "dvc_storage_host": "nowhere"},
                 ["dvc_storage_host 'nowhere' is not an inventory host"], id="unknown-storage-host"),
    # Directories an uninstall may remove (purge_data): never / or a top-level one.
    pytest.param({"dvc_venv": "/opt"}, ["dvc_venv", "below a top-level directory"], id="top-level-venv"),
    pytest.param({"dvc_shared_cache_dir": "/var/cache/../.."}, ["dvc_shared_cache_dir", "no . or .. parts"],
                 id="dotdot-cache"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    assert_refused(validation_batch("dvc", BAD_INPUT, VALID)(extra), expected)
