"""Bad input to role `docker` fails in validation, naming the variable."""

import pytest

from conftest import assert_refused


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("docker", {
        "docker_registry_mirrors": ["https://mirror.example.com"],
        "docker_insecure_registries": ["registry.lan:5000", "10.0.0.0/8"],
        "docker_data_root": "/srv/docker",
        "docker_upstream_gpg_key_checksum": "sha256:" + "ab" * 32,
        "docker_users": ["root"],
    })
    assert result.returncode == 0, result.stdout + result.stderr


BAD_INPUT = [
    pytest.param({"docker_install_from": "snap"}, ["docker_install_from", "distro, upstream"],
                 id="unknown-source"),
    pytest.param({"docker_log_max_size": "10MB"}, ["docker_log_max_size", "10MB"],
                 id="log-size-unit"),
    pytest.param({"docker_log_max_file": 0}, ["docker_log_max_file", "0 is out of range (>= 1)"],
                 id="no-log-files"),
    pytest.param({"docker_data_root": "var/docker"}, ["docker_data_root", "absolute"],
                 id="relative-data-root"),
    pytest.param({"docker_registry_mirrors": ["mirror.example.com"]},
                 ["docker_registry_mirrors", "mirror.example.com"], id="mirror-not-url"),
    pytest.param({"docker_insecure_registries": ["http://registry.lan"]},
                 ["docker_insecure_registries", "http://registry.lan"], id="insecure-with-scheme"),
    pytest.param({"docker_upstream_gpg_key_checksum": "abc123"},
                 ["docker_upstream_gpg_key_checksum", "sha256:"], id="bad-checksum"),
    pytest.param({"docker_users": ["no-such-user-here"]},
                 ["docker_users", "no such account", "no-such-user-here"], id="unknown-user"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    assert_refused(validation_batch("docker", BAD_INPUT)(extra), expected)
