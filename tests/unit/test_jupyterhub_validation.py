"""Bad input to role `jupyterhub` fails in validation, naming the variable, before any change."""

import pytest

from conftest import assert_refused

# The shared directory's group must exist on the host: this machine has root.
BASE = {"jupyterhub_shared_group": "root"}


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("jupyterhub", {
        **BASE,
        "jupyterhub_mem_limit": "512M",
        "jupyterhub_cpu_limit": 2,
        "jupyterhub_authenticator": "ldap",
        "jupyterhub_ldap_server_address": "ldap.example.org",
        "jupyterhub_ldap_bind_dn_template": ["uid={username},ou=people,dc=example,dc=org"],
    })
    assert result.returncode == 0, result.stdout + result.stderr


BAD_INPUT = [
    pytest.param({"jupyterhub_authenticator": "github"},
                 ["jupyterhub_authenticator", "pam, native, ldap"], id="unknown-authenticator"),
    pytest.param({"jupyterhub_spawner": "docker"}, ["jupyterhub_spawner", "systemd, local"],
                 id="unknown-spawner"),
    pytest.param({"jupyterhub_mem_limit": "2GB"}, ["jupyterhub_mem_limit", "2GB"], id="memory-unit"),
    pytest.param({"jupyterhub_mem_limit": "lots"}, ["jupyterhub_mem_limit", "lots"], id="memory-words"),
    pytest.param({"jupyterhub_cpu_limit": -1}, ["jupyterhub_cpu_limit", "-1 is out of range (>= 0)"], id="negative-cpu"),
    pytest.param({"jupyterhub_authenticator": "ldap"},
                 ["jupyterhub_ldap_server_address", "LDAP server"], id="ldap-without-server"),
    pytest.param({"jupyterhub_authenticator": "ldap", "jupyterhub_ldap_server_address": "ldap.example.org"},
                 ["jupyterhub_ldap_bind_dn_template"], id="ldap-without-dn"),
    pytest.param({"jupyterhub_ldap_tls_strategy": "starttls"},
                 ["jupyterhub_ldap_tls_strategy", "before_bind, on_connect, insecure"], id="ldap-tls"),
    pytest.param({"jupyterhub_tls_certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
                 ["jupyterhub_tls_certificate", "jupyterhub_tls_private_key", "go together"],
                 id="certificate-without-key"),
    pytest.param({"jupyterhub_client_max_body_size": "100 MB"},
                 ["jupyterhub_client_max_body_size", "100 MB"], id="body-size"),
    pytest.param({"jupyterhub_idle_timeout": 0}, ["jupyterhub_idle_timeout", "0 is out of range (>= 1)"], id="idle-timeout"),
    pytest.param({"jupyterhub_shared_group": "no-such-group-here"},
                 ["jupyterhub_shared_group", "no-such-group-here"], id="unknown-group"),
    pytest.param({"jupyterhub_venv": "opt/jupyterhub"}, ["jupyterhub_venv: must be an absolute path"],
                 id="relative-venv"),
    # Directories an uninstall may remove (purge_data): never / or a top-level one.
    pytest.param({"jupyterhub_state_dir": "/var"}, ["jupyterhub_state_dir", "below a top-level directory"],
                 id="top-level-state-dir"),
    pytest.param({"jupyterhub_shared_dir": "/"}, ["jupyterhub_shared_dir", "below a top-level directory"],
                 id="root-shared-dir"),
    pytest.param({"jupyterhub_venv": "/opt/../usr"}, ["jupyterhub_venv", "no . or .. parts"], id="dotdot-venv"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUT)
def test_bad_input_is_refused(validation_batch, extra, expected):
    assert_refused(validation_batch("jupyterhub", BAD_INPUT, BASE)(extra), expected)


def test_secrets_are_not_printed(run_role_validation):
    """A refused certificate/key pair: the key's text does not appear in the output."""
    key = "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----"
    result = run_role_validation("jupyterhub", {**BASE, "jupyterhub_tls_private_key": key})
    assert result.returncode != 0
    assert "TOP-SECRET-KEY-MATERIAL" not in result.stdout + result.stderr
