"""The lab as its operator sees it: on the admin host, logged in as the operator."""

import shlex

import os

PREFIX = os.environ.get("MLP_LAB_PREFIX", "mlp-lab")
testinfra_hosts = [f"ansible://{PREFIX}-admin"]
HOSTS = ("admin1", "eda1", "ml1", "data1", "prod1")


def operator(host, command):
    """Run a command in the operator's login shell on the admin host."""
    return host.run(f"runuser -l debian -c {shlex.quote(command)}")


def test_ansible_all_ping_succeeds_for_all_five(host):
    result = operator(host, "ansible all -m ping -o")
    assert result.rc == 0, result.stdout + result.stderr
    for name in HOSTS:
        assert f"{name} | SUCCESS" in result.stdout


def test_ansible_logs_in_as_the_admin_account_with_the_key(host):
    result = operator(host, "ansible all -m command -a 'id -un' -o")
    assert result.rc == 0, result.stdout + result.stderr
    assert result.stdout.count("(stdout) mlops") == len(HOSTS)


def test_every_host_runs_sshd_with_password_logins_off(host):
    for name in HOSTS:
        result = host.run(
            f"sshpass -p debian ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            f"-o PubkeyAuthentication=no -o ConnectTimeout=10 debian@{name} true"
        )
        assert result.rc != 0
        assert "Permission denied (publickey)" in result.stderr, name


def test_ssh_audit_finds_no_weak_algorithm_on_any_host(host):
    """ssh-audit (Debian's package, a scanner this project did not write) from the admin
    host against every host's sshd: no failure, no warning (common_sshd_crypto_policy)."""
    install = host.run("command -v ssh-audit || { export DEBIAN_FRONTEND=noninteractive;"
                       " apt-get install -y -q ssh-audit || { apt-get update -q && apt-get install -y -q ssh-audit; }; }")
    assert install.rc == 0, install.stdout[-2000:] + install.stderr[-2000:]
    for name in HOSTS:
        result = host.run(f"ssh-audit -n {name}")
        assert "# key exchange algorithms" in result.stdout, (name, result.stdout[-2000:], result.stderr)
        findings = [line for line in result.stdout.splitlines() if "[fail]" in line or "[warn]" in line]
        assert findings == [], (name, findings)


def test_admin_has_passwordless_sudo_everywhere(host):
    result = operator(host, "ansible all -b -m command -a 'id -u' -o")
    assert result.rc == 0, result.stdout + result.stderr
    assert result.stdout.count("(stdout) 0") == len(HOSTS)


def test_lab_inventory_sees_the_project_group_vars(host):
    result = operator(host, "ansible-inventory --host eda1")
    assert result.rc == 0, result.stderr
    assert '"data-researchers"' in result.stdout


def test_bootstrap_installed_python3_where_it_was_missing(host):
    # prepare.yml purged python3 from data1; only bootstrap's raw task can have put it back.
    result = operator(host, "ansible data -m command -a 'dpkg-query -W python3' -o")
    assert result.rc == 0, result.stdout + result.stderr
    assert "python3" in result.stdout


def test_jupyterhub_answers_on_eda_over_https_only(host):
    """From the admin host: the hub's login page over HTTPS (eda's self-signed certificate,
    issued for the name eda1), and a redirect from plain HTTP."""
    page = host.run("echo | openssl s_client -connect eda1:443 -servername eda1 2>/dev/null"
                    " | openssl x509 > /tmp/eda-hub.pem && curl -sS --cacert /tmp/eda-hub.pem https://eda1/hub/login")
    assert page.rc == 0, page.stderr
    assert 'name="password"' in page.stdout
    redirect = host.run("curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' http://eda1/hub/")
    assert redirect.stdout == "301 https://eda1/hub/"
