"""Bad input to role `git` fails in validation, naming the variable, never printing a key."""

import pytest

from conftest import assert_refused

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq3QrS2kZ3yN0m9Q8wW0l6bqAEXAMPLEKEYFORTESTS0"
PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"


def deploy_key(**overrides):
    key = {"name": "models", "user": "mlops", "host": "git.example.com",
           "private_key": PRIVATE, "host_keys": [HOST_KEY]}
    key.update(overrides)
    return key


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("git", {
        "git_deploy_keys": [deploy_key()],
        "git_config": {"pull.rebase": "false", "url.https://mirror.example.com/.insteadOf": "https://x/"},
    })
    assert result.returncode == 0, result.stdout + result.stderr


BAD_INPUT = [
        pytest.param({"git_deploy_keys": [deploy_key(host_keys=["not a key"])]},
                     ["git_deploy_keys", "host_keys that are not", "not a key"], id="bad-host-key"),
        pytest.param({"git_deploy_keys": [deploy_key(name="my models")]},
                     ["git_deploy_keys", "bad name", "my models"], id="bad-name"),
        pytest.param({"git_deploy_keys": [deploy_key(), deploy_key()]},
                     ["git_deploy_keys", "unique"], id="duplicate-name"),
        pytest.param({"git_config": {"pullrebase": "false"}},
                     ["git_config", "section.key", "pullrebase"], id="bad-setting"),
        pytest.param({"git_deploy_keys": [{"name": "models", "user": "mlops", "private_key": PRIVATE,
                                           "host_keys": [HOST_KEY]}]},
                     ["git_deploy_keys", "host"], id="missing-host"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    assert_refused(validation_batch("git", BAD_INPUT)(extra), expected)


def test_a_private_key_of_the_wrong_form_is_refused_and_never_printed(run_role_validation):
    secret = "hunter2-not-a-private-key"
    result = run_role_validation("git", {"git_deploy_keys": [deploy_key(private_key=secret)]}, "-vvv")
    assert result.returncode != 0
    assert "private_key of models is not" in result.stdout
    assert secret not in result.stdout + result.stderr
