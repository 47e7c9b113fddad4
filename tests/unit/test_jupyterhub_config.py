"""Role `jupyterhub`'s configuration as JupyterHub reads it: the rendered
jupyterhub_config.py is executed with a stand-in for JupyterHub's config object, for the
combinations the Molecule scenario does not start (LDAP, local processes, no culler, an
external database)."""

import os
from types import SimpleNamespace

import pytest

from conftest import local_playbook


class Section(SimpleNamespace):
    """c.JupyterHub, c.Spawner, ...: attributes appear on first use, as in traitlets."""

    def __getattr__(self, name):
        value = Section()
        setattr(self, name, value)
        return value


@pytest.fixture
def load_config(tmp_path):
    def load(extra_vars, environ=None):
        (tmp_path / "proxy_auth_token").write_text("token-from-the-state-dir\n")
        out = tmp_path / "jupyterhub_config.py"
        result = local_playbook("render_jupyterhub_config.yml",
                                {"jupyterhub_state_dir": str(tmp_path), "out": str(out), **extra_vars}, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        c = Section()
        saved = dict(os.environ)
        os.environ.update(environ or {})
        try:
            exec(compile(out.read_text(), str(out), "exec"), {"get_config": lambda: c})
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return c

    return load


def test_defaults_pam_systemd_culler_localhost(load_config):
    c = load_config({})
    assert c.JupyterHub.authenticator_class == "jupyterhub.auth.PAMAuthenticator"
    assert c.PAMAuthenticator.allowed_groups == {"data-researchers", "ml-researchers"}
    assert c.JupyterHub.spawner_class == "systemdspawner.SystemdSpawner"
    assert c.Spawner.mem_limit == "2G"
    assert c.Spawner.cpu_limit == 1.0
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000"
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:8081"
    assert c.ConfigurableHTTPProxy.auth_token == "token-from-the-state-dir"
    assert c.JupyterHub.db_url.startswith("sqlite:///")
    assert c.JupyterHub.cleanup_servers is False
    culler = c.JupyterHub.services[0]
    assert culler["name"] == "jupyterhub-idle-culler"
    assert "--timeout=3600" in culler["command"]
    assert set(c.JupyterHub.load_roles[0]["scopes"]) == {
        "list:users", "read:users:activity", "read:servers", "delete:servers"}


def test_ldap_with_a_search_user(load_config):
    c = load_config({
        "jupyterhub_authenticator": "ldap",
        "jupyterhub_ldap_server_address": "ldap.example.org",
        "jupyterhub_ldap_tls_strategy": "on_connect",
        "jupyterhub_ldap_lookup_dn": True,
        "jupyterhub_ldap_user_search_base": "ou=people,dc=example,dc=org",
        "jupyterhub_ldap_search_user": "cn=hub,dc=example,dc=org",
        "jupyterhub_allowed_groups": ["cn=team,ou=groups,dc=example,dc=org"],
    }, environ={"MLP_LDAP_SEARCH_PASSWORD": "from-the-secrets-file"})
    assert c.JupyterHub.authenticator_class == "ldapauthenticator.LDAPAuthenticator"
    assert c.LDAPAuthenticator.server_address == "ldap.example.org"
    assert c.LDAPAuthenticator.tls_strategy == "on_connect"
    assert c.LDAPAuthenticator.lookup_dn is True
    assert c.LDAPAuthenticator.user_search_base == "ou=people,dc=example,dc=org"
    assert c.LDAPAuthenticator.lookup_dn_search_password == "from-the-secrets-file"
    assert c.LDAPAuthenticator.allowed_groups == ["cn=team,ou=groups,dc=example,dc=org"]
    assert "allowed_groups" not in vars(c.PAMAuthenticator)


def test_local_processes_without_limits_or_culler(load_config):
    c = load_config({"jupyterhub_spawner": "local", "jupyterhub_idle_culler_enabled": False})
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.LocalProcessSpawner"
    assert "mem_limit" not in vars(c.Spawner)
    assert "services" not in vars(c.JupyterHub)
    assert c.Spawner.cmd == ["/opt/jupyterhub/bin/jupyterhub-singleuser"]


def test_secrets_stay_out_of_the_readable_config(load_config, tmp_path):
    """The database URL and the LDAP password reach the hub through the 0600 secrets file
    (systemd's EnvironmentFile), not through jupyterhub_config.py (0644)."""
    c = load_config({"jupyterhub_db_url": "postgresql://hub:db-Secret-1@db/hub",
                     "jupyterhub_authenticator": "ldap", "jupyterhub_ldap_server_address": "ldap",
                     "jupyterhub_ldap_bind_dn_template": ["uid={username},dc=example"],
                     "jupyterhub_ldap_search_user": "cn=hub", "jupyterhub_ldap_search_password": "ldap-Secret-2"},
                    environ={"JUPYTERHUB_DB_URL": "postgresql://hub:db-Secret-1@db/hub"})
    assert c.JupyterHub.db_url == "postgresql://hub:db-Secret-1@db/hub"
    text = (tmp_path / "jupyterhub_config.py").read_text()
    assert "db-Secret-1" not in text
    assert "ldap-Secret-2" not in text


def test_extra_config_is_appended(load_config):
    c = load_config({"jupyterhub_extra_config": "c.Spawner.notebook_dir = '~/work'"})
    assert c.Spawner.notebook_dir == "~/work"
