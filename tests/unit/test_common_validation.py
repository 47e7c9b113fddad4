"""Bad input to role `common` fails before any change, with a message naming the variable.

Only the validation runs (see conftest.run_role_validation), in check mode, on this machine.
"""

import pytest

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq3QrS2kZ3yN0m9Q8wW0l6bqAEXAMPLEKEYFORTESTS0 me@laptop"
VALID = {"common_admin_authorized_keys": [KEY]}
PLAIN_PASSWORD = "Sup3r-Secret-Pl41n"


def failed_task(result):
    """The name of the task that failed (Ansible prints it before the fatal line)."""
    lines = result.stdout.splitlines()
    fatal = next(i for i, line in enumerate(lines) if line.startswith("fatal:"))
    return next(line for line in reversed(lines[:fatal]) if line.startswith("TASK ["))


def test_valid_input_passes(run_role_validation):
    result = run_role_validation("common", dict(VALID, common_sshd_permit_root_login=False, common_users=[
        {"name": "alice", "groups": ["data-researchers"], "authorized_keys": [KEY],
         "password_hash": "$6$salt$abcdefghijklmnop", "sudo": "password"},
        {"name": "bob", "state": "absent"},
    ]))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Check the SSH public keys" in result.stdout


SPEC_REFUSES = [
    pytest.param({"common_users": "alice"}, ["common_users", "list"], id="users-not-a-list"),
    pytest.param({"common_users": [{"name": "alice", "state": "gone"}]},
                 ["common_users", "state", "present, absent"], id="unknown-state"),
    pytest.param({"common_users": [{"groups": ["developers"]}]},
                 ["common_users", "name"], id="user-without-name"),
    pytest.param({"common_users": [{"name": "alice", "sudo": "always"}]},
                 ["common_users", "sudo", "none, password, nopasswd"], id="unknown-sudo"),
    pytest.param({"common_sshd_permit_root_login": "never"},
                 ["common_sshd_permit_root_login", "prohibit-password"], id="unknown-root-login"),
    pytest.param({"common_sshd_crypto_policy": "strong"},
                 ["common_sshd_crypto_policy", "modern", "distribution"], id="unknown-crypto-policy"),
    pytest.param({"common_admin_sudo_nopasswd": "maybe"},
                 ["common_admin_sudo_nopasswd", "bool"], id="not-a-bool"),
    pytest.param({"common_firewall_allow": [{"port": 53, "proto": "icmp"}]},
                 ["common_firewall_allow", "proto", "tcp, udp"], id="firewall-unknown-proto"),
    pytest.param({"common_firewall_allow": {"port": 443}},
                 ["common_firewall_allow", "list"], id="firewall-allow-a-dict"),
]


@pytest.mark.parametrize(("extra", "expected"), SPEC_REFUSES)
def test_argument_spec_rejects(validation_batch, extra, expected):
    result = validation_batch("common", BAD_INPUT, VALID)(extra)
    assert result.returncode != 0
    assert "Validating arguments against arg spec" in failed_task(result)
    for fragment in expected:
        assert fragment in result.stdout, fragment


CHECKS_REFUSE = [
    pytest.param({"common_users": [{"name": "alice", "authorized_keys": ["not a key"]}]},
                 ["common_users[].authorized_keys", "not an SSH public key", "alice: not a key"],
                 id="key-not-a-key"),
    pytest.param({"common_admin_authorized_keys": ["ssh-ed25519"]},
                 ["common_admin_authorized_keys", "not an SSH public key"], id="key-without-body"),
    pytest.param({"common_users": [{"name": "Alice"}]},
                 ["invalid names", "Alice"], id="bad-login-name"),
    pytest.param({"common_users": [{"name": "mlops"}]},
                 ["listed twice", "mlops"], id="admin-listed-again"),
    pytest.param({"common_admin_authorized_keys": []},
                 ["common_sshd_password_authentication is false", "mlops", "no authorized key"],
                 id="lockout-admin-without-key"),
    pytest.param({"common_users": [{"name": "alice", "password_hash": "$6$salt$abcdef"}]},
                 ["common_sshd_password_authentication is false", "alice"],
                 id="lockout-password-user-without-key"),
    pytest.param({"common_ca_certificates": ["/nonexistent/corp-ca.pem"]},
                 ["common_ca_certificates", "No such file: /nonexistent/corp-ca.pem"],
                 id="ca-file-missing"),
    pytest.param({"common_proxy_https": "proxy.corp:3128"},
                 ["common_proxy_https", "must be a URL (http://..., https://...)", "proxy.corp:3128"], id="proxy-not-a-url"),
    pytest.param({"common_users": [{"name": "alice", "authorized_keys": [KEY],
                                    "groups": ["no-such-group"]}]},
                 ["common_users[].groups", "no-such-group"], id="unknown-group"),
    pytest.param({"common_firewall_allow": [{"port": 443, "sources": ["10.0.0.0/33"]}]},
                 ["common_firewall_allow[0].sources[0]", "network in CIDR form", "10.0.0.0/33"],
                 id="firewall-source-not-a-network"),
    pytest.param({"common_firewall_ssh_sources": ["10.1.2.3/8"]},
                 ["common_firewall_ssh_sources[0]", "host bits set"], id="firewall-host-bits"),
    pytest.param({"common_firewall_ssh_sources": [""]},
                 ["common_firewall_ssh_sources[0]", "is required (empty)"], id="firewall-empty-source"),
    pytest.param({"common_firewall_allow": [{"port": 70000}]},
                 ["common_firewall_allow[0].port", "70000 is out of range (1-65535)"],
                 id="firewall-port-out-of-range"),
    pytest.param({"common_firewall_ssh_port": 0},
                 ["common_firewall_ssh_port", "out of range (1-65535)"], id="firewall-ssh-port-zero"),
    pytest.param({"common_firewall_allow": [{"port": 443, "sources": "10.0.0.0/8"}]},
                 ["common_firewall_allow[0].sources", "expected a list"], id="firewall-sources-a-string"),
    pytest.param({"ansible_connection": "ssh", "ansible_port": 2222},
                 ["common_firewall_ssh_port", "on port 2222", "add the port to common_firewall_allow"],
                 id="firewall-would-shut-ansible-out"),
    pytest.param({"ansible_connection": "ansible.builtin.ssh", "ansible_port": 2222},
                 ["common_firewall_ssh_port", "on port 2222"], id="firewall-would-shut-ansible-out-fqcn"),
    pytest.param({"common_fail2ban_ignore": ["ops.example.org"]},
                 ["common_fail2ban_ignore[0]", "network in CIDR form", "ops.example.org"],
                 id="fail2ban-ignore-a-name"),
    pytest.param({"common_fail2ban_maxretry": 0},
                 ["common_fail2ban_maxretry", "0 is out of range (>= 1)"], id="fail2ban-maxretry-zero"),
    pytest.param({"common_fail2ban_bantime": -1},
                 ["common_fail2ban_bantime", "out of range (>= 1)"], id="fail2ban-negative-bantime"),
]


@pytest.mark.parametrize(("extra", "expected"), CHECKS_REFUSE)
def test_validation_rejects(validation_batch, extra, expected):
    result = validation_batch("common", BAD_INPUT, VALID)(extra)
    assert result.returncode != 0
    assert "common : Check" in failed_task(result) or "common : Refuse" in failed_task(result)
    for fragment in expected:
        assert fragment in result.stdout, fragment


BAD_INPUT = SPEC_REFUSES + CHECKS_REFUSE  # one batched run for both


def test_plain_password_is_refused_and_never_printed(run_role_validation):
    result = run_role_validation(
        "common",
        dict(VALID, common_users=[{"name": "alice", "authorized_keys": [KEY],
                                   "password_hash": PLAIN_PASSWORD}]),
        "-vvv",
    )
    assert result.returncode != 0
    assert "alice is not a crypt(3) hash" in result.stdout
    assert PLAIN_PASSWORD not in result.stdout + result.stderr


def test_firewall_input_that_fits_passes(run_role_validation):
    result = run_role_validation("common", dict(
        VALID, common_firewall_ssh_sources=["192.0.2.7", "10.0.0.0/8", "2001:db8::/32"],
        common_firewall_allow=[{"port": 443, "comment": "hub"}, {"port": "8080", "proto": "udp",
                                                                 "sources": ["fd00::1"]}]))
    assert result.returncode == 0, result.stdout + result.stderr


def test_firewall_opening_ansibles_port_passes_the_lockout_check(run_role_validation):
    """sshd on 2222, said so: the check passes (the run then stops at the first task that
    connects, as nothing listens on this machine's port 2222)."""
    result = run_role_validation("common", dict(VALID, ansible_connection="ssh", ansible_port=2222,
                                                common_firewall_ssh_port=2222))
    lines = result.stdout.splitlines()
    check = next(i for i, line in enumerate(lines) if "Refuse a firewall that would shut Ansible out" in line)
    assert lines[check + 1].startswith("ok:"), result.stdout
