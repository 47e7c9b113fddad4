"""Bad input to role `data_storage` fails in validation, naming the variable."""

import pytest

from conftest import assert_refused

VALID = {"data_storage_group": "root", "data_storage_extra_groups": []}


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("data_storage", dict(VALID, data_storage_min_free_gb=1))
    assert result.returncode == 0, result.stdout + result.stderr


BAD_INPUT = [
    pytest.param({"data_storage_path": "srv/dvc"},
                 ["data_storage_path: must be an absolute path", "srv/dvc"], id="relative-path"),
    pytest.param({"data_storage_extra_groups": ["no-such-team"]},
                 ["data_storage_extra_groups", "no such group", "no-such-team"], id="unknown-group"),
    pytest.param({"data_storage_min_free_gb": 10**9},
                 ["data_storage_min_free_gb", "GiB required"], id="not-enough-space"),
    pytest.param({"data_storage_git_repositories": ["team/project"]},
                 ["data_storage_git_repositories", "team/project"], id="git-name-with-slash"),
    pytest.param({"data_storage_git_repositories": ["project.git"]},
                 ["data_storage_git_repositories", "without '.git'"], id="git-name-with-suffix"),
    pytest.param({"data_storage_git_path": "srv/git"},
                 ["data_storage_git_path: must be an absolute path", "srv/git"], id="git-relative-path"),
    pytest.param({"data_storage_min_free_gb": "lots"},
                 ["data_storage_min_free_gb", "int"], id="not-a-number"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    assert_refused(validation_batch("data_storage", BAD_INPUT, VALID)(extra), expected)


def test_a_number_given_on_the_command_line_is_compared_as_a_number(run_role_validation):
    result = run_role_validation("data_storage", VALID, "-e", "data_storage_min_free_gb=1")
    assert result.returncode == 0, result.stdout + result.stderr
