"""Role `mlflow`: the tracking server as the team uses it, over HTTPS through nginx.

In order (one server; the tests depend on their order): HTTP redirects to HTTPS and the
certificate verifies; only nginx listens outside; no login, a wrong password and the
password older MLflow releases shipped are refused, the vault's admin password works; alice
logs a run with MLflow's own client (parameters, a metric, an artifact uploaded through the
server) and bob reads it back byte for byte; the runs are in PostgreSQL and survive a
restart; a browser's write from a foreign origin is refused, from the server's own name
accepted; no secret on a command line or in the converge output; a new admin password in the
inventory replaces the old one; an account set absent is deleted; upgrading MLflow from the
scenario's older release to the role's default migrates the database and keeps the runs;
playbooks/decommission.yml removes the server and keeps runs and artifacts, which a
reinstall serves again; with purge_data the databases and the artifacts go too.
"""

import os
import shlex
import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml
from molecule_helpers import as_user, assert_unchanged, container_address, run_playbook, trust_anchor

SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
ROOT = SCENARIO.parents[3]
SETTINGS = yaml.safe_load((SCENARIO / "molecule.yml").read_text())["provisioner"]["inventory"]["group_vars"]["admin"]
PASSWORDS = {"admin": SETTINGS["mlflow_admin_password"],
             **{user["name"]: user["password"] for user in SETTINGS["mlflow_users"]}}
LEGACY_DEFAULT = ("admin", "password1234")  # what MLflow's basic_auth.ini shipped before 3.x
EXPERIMENT = f"team-{uuid.uuid4().hex[:8]}"


def converge(*extra):
    """Re-run the scenario's converge playbook (the real roles) against the instance."""
    return run_playbook(SCENARIO / "converge.yml", *extra)


@pytest.fixture(scope="module")
def address(host):
    return container_address(host)


@pytest.fixture(scope="module")
def ca_file(host, tmp_path_factory):
    """The server's self-signed certificate, as the trust anchor the team installs."""
    return trust_anchor(host, "/etc/mlflow/tls/cert.pem", tmp_path_factory.mktemp("tls"))


def api(address, ca_file, method, path, user="alice", password=None, **kwargs):
    auth = None if user is None else (user, password or PASSWORDS[user])
    return requests.request(method, f"https://{address}/api/2.0/mlflow/{path}", auth=auth,
                            verify=ca_file, timeout=60, **kwargs)


def client(host, user, code):
    """Run Python with MLflow's own client as a team member on the host, over HTTPS through
    nginx to the server's name (the certificate's, which she trusts: a copy she can read),
    logged in as USER."""
    host.check_output("install -m 0644 /etc/mlflow/tls/cert.pem /tmp/mlflow-ca.pem")
    env = (f"MLFLOW_TRACKING_URI=https://admin MLFLOW_TRACKING_USERNAME={user} "
           f"MLFLOW_TRACKING_PASSWORD={PASSWORDS[user]} MLFLOW_TRACKING_SERVER_CERT_PATH=/tmp/mlflow-ca.pem")
    result = as_user(host, user, f"cd /tmp && env {env} /opt/mlflow/bin/python3 -c {shlex.quote(code)}")
    assert result.rc == 0, result.stdout + result.stderr
    return result.stdout.strip()


# --- The way in ------------------------------------------------------------------------------

def test_plain_http_redirects_to_https(address):
    response = requests.get(f"http://{address}/#/experiments", allow_redirects=False, timeout=30)
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{address}/#/experiments".split("#")[0]


def test_https_answers_with_a_certificate_that_verifies(address, ca_file):
    response = requests.get(f"https://{address}/health", verify=ca_file, timeout=30)
    assert response.status_code == 200
    assert "Server" not in response.headers or response.headers["Server"] == "nginx"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_only_nginx_listens_beyond_localhost(host):
    sockets = [line.split() for line in host.check_output("ss -Htlnp").splitlines()]
    outside = {(fields[3].rsplit(":", 1)[1], fields[-1]) for fields in sockets
               if not fields[3].startswith(("127.", "[::1]:", "::1"))}
    assert {port for port, _ in outside} >= {"80", "443"}
    assert all("nginx" in process or port == "22" for port, process in outside), outside
    assert host.socket("tcp://127.0.0.1:5000").is_listening


# --- Logins ----------------------------------------------------------------------------------

def test_no_login_a_wrong_password_and_the_old_default_are_refused(address, ca_file):
    path = "experiments/search?max_results=1"
    assert api(address, ca_file, "GET", path, user=None).status_code == 401
    assert api(address, ca_file, "GET", path, "alice", "not-her-password").status_code == 401
    assert api(address, ca_file, "GET", path, *LEGACY_DEFAULT).status_code == 401
    assert api(address, ca_file, "GET", path, "admin").status_code == 200


def test_a_team_member_logs_a_run_with_mlflows_client(host):
    code = (
        "import mlflow, pathlib\n"
        f"mlflow.set_experiment('{EXPERIMENT}')\n"
        "with mlflow.start_run(run_name='grid-1') as run:\n"
        "    mlflow.log_params({'model': 'logreg', 'C': 0.5})\n"
        "    mlflow.log_metric('accuracy', 0.93)\n"
        "    pathlib.Path('/tmp/alice-report.txt').write_bytes(bytes(range(256)) * 40)\n"
        "    mlflow.log_artifact('/tmp/alice-report.txt', 'reports')\n"
        "print(run.info.run_id)\n")
    run_id = client(host, "alice", code).splitlines()[-1]
    assert len(run_id) == 32
    host.check_output("test -s /var/lib/mlflow/artifacts/*/%s/artifacts/reports/alice-report.txt", run_id)


def run_of(address, ca_file, user="bob"):
    experiment = api(address, ca_file, "GET", f"experiments/get-by-name?experiment_name={EXPERIMENT}", user)
    assert experiment.status_code == 200, experiment.text
    runs = api(address, ca_file, "POST", "runs/search", user,
               json={"experiment_ids": [experiment.json()["experiment"]["experiment_id"]]})
    assert runs.status_code == 200, runs.text
    return runs.json()["runs"][0]


def report_of(address, ca_file, run, user="bob"):
    """The report alice logged with RUN, as USER downloads it through the server."""
    return requests.get(
        f"https://{address}/api/2.0/mlflow-artifacts/artifacts/{run['info']['experiment_id']}/"
        f"{run['info']['run_id']}/artifacts/reports/alice-report.txt",
        auth=(user, PASSWORDS[user]), verify=ca_file, timeout=60)


def test_another_member_reads_the_run_and_its_artifact_byte_for_byte(address, ca_file):
    run = run_of(address, ca_file, "bob")
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"model": "logreg", "C": "0.5"}
    assert [m["value"] for m in run["data"]["metrics"] if m["key"] == "accuracy"] == [0.93]
    artifact = report_of(address, ca_file, run)
    assert artifact.status_code == 200
    assert artifact.content == bytes(range(256)) * 40


def test_the_runs_live_in_postgresql_and_survive_a_restart(host, address, ca_file):
    count = host.check_output(
        "runuser -u postgres -- psql -d mlflow -Atc \"SELECT count(*) FROM experiments WHERE name = '%s'\"", EXPERIMENT)
    assert count == "1"
    host.check_output("systemctl restart mlflow")
    for _ in range(90):
        try:
            if requests.get(f"https://{address}/health", verify=ca_file, timeout=10).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(1)
    assert run_of(address, ca_file, "alice")["data"]["metrics"][0]["value"] == 0.93


def test_a_write_from_a_foreign_origin_is_refused_and_from_its_own_name_accepted(address, ca_file):
    body = {"name": f"origin-{uuid.uuid4().hex[:8]}"}
    foreign = api(address, ca_file, "POST", "experiments/create", json=body,
                  headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    own = api(address, ca_file, "POST", "experiments/create", json=body,
              headers={"Origin": "https://mlflow.example.test"})
    assert own.status_code == 200, own.text


def test_no_secret_is_on_a_command_line_or_readable_by_others(host):
    processes = host.check_output("ps -eo args")
    for secret in (SETTINGS["mlflow_db_password"], SETTINGS["mlflow_admin_password"]):
        assert secret not in processes
    for path, mode in (("/etc/mlflow/mlflow.env", 0o600), ("/etc/mlflow/secret.env", 0o600),
                       ("/etc/mlflow/basic_auth.ini", 0o640)):
        assert host.file(path).mode == mode, path
    assert as_user(host, "alice", "cat /etc/mlflow/basic_auth.ini").rc != 0


# --- Changes from the inventory -------------------------------------------------------------

def test_a_new_admin_password_replaces_the_old_one_and_an_absent_account_goes(address, ca_file):
    new = "admin-Rotated-4567"
    users = '{"mlflow_users": [{"name": "alice", "password": "%s"}, {"name": "bob", "state": "absent"}]}' % PASSWORDS["alice"]
    result = converge("-e", f"mlflow_admin_password={new}", "-e", users)
    assert new not in result.stdout and PASSWORDS["alice"] not in result.stdout
    path = "experiments/search?max_results=1"
    assert api(address, ca_file, "GET", path, "admin").status_code == 401
    assert api(address, ca_file, "GET", path, "admin", new).status_code == 200
    assert api(address, ca_file, "GET", path, "bob").status_code == 401
    # The upgrade below converges with the inventory's accounts again (and checks them).


def test_an_upgrade_migrates_the_database_and_keeps_the_runs(host, address, ca_file):
    """From the scenario's older release to the role's default, with the inventory's accounts
    (the test above rotated the admin's password and removed bob)."""
    target = yaml.safe_load((ROOT / "roles/mlflow/defaults/main.yml").read_text())["mlflow_version"]
    before = host.file("/var/lib/mlflow/schema-version").content_string.strip()
    assert before == SETTINGS["mlflow_version"] != target, "the scenario must start on an older release"
    result = converge("-e", f"mlflow_version={target}")
    assert "Migrate the database to this release" in result.stdout
    assert host.check_output("/opt/mlflow/bin/python3 -c 'import mlflow; print(mlflow.__version__)'") == target
    assert host.file("/var/lib/mlflow/schema-version").content_string.strip() == target
    # The inventory's admin password and bob's account are back (the test above changed them).
    assert api(address, ca_file, "GET", "experiments/search?max_results=1", "admin").status_code == 200
    run = run_of(address, ca_file, "bob")
    assert [m["value"] for m in run["data"]["metrics"] if m["key"] == "accuracy"] == [0.93]


# --- Uninstall (playbooks/decommission.yml) -----------------------------------------------

def decommission(*extra, tags="mlflow"):
    return run_playbook(ROOT / "playbooks/decommission.yml", "--tags", tags, "-e", "skip_confirmation=true", *extra)


def decommission_postgresql(*extra):
    return decommission(*extra, tags="mlflow,postgresql")


def test_decommission_keeps_the_runs_and_a_reinstall_serves_them_again(host, address, ca_file):
    """MLflow taken off: the server goes, its runs (in PostgreSQL, still running) and artifacts
    stay; a second run changes nothing. Then PostgreSQL too (role postgresql's uninstall,
    after MLflow's): the server and its packages go, the databases stay; a second run changes
    nothing. The roles installed again (one converge) serve bob's run and alice's artifact
    from what was kept."""
    target = yaml.safe_load((ROOT / "roles/mlflow/defaults/main.yml").read_text())["mlflow_version"]
    decommission()
    assert not host.service("mlflow").is_running
    for path in ("/opt/mlflow", "/etc/mlflow", "/etc/systemd/system/mlflow.service", "/etc/nginx/sites-enabled/mlflow.conf"):
        assert not host.file(path).exists, path
    with pytest.raises(requests.ConnectionError):
        requests.get(f"https://{address}/health", verify=ca_file, timeout=10)
    kept = host.check_output(
        "runuser -u postgres -- psql -d mlflow -Atc \"SELECT count(*) FROM experiments WHERE name = '%s'\"", EXPERIMENT)
    assert kept == "1"
    assert host.file("/var/lib/mlflow/artifacts").is_directory
    assert_unchanged(decommission())

    decommission_postgresql()
    assert not host.package("postgresql").is_installed and not host.service("postgresql").is_running
    assert host.run("command -v psql").rc != 0
    assert host.file("/var/lib/postgresql").is_directory
    assert_unchanged(decommission_postgresql())

    converge("-e", f"mlflow_version={target}")
    fresh_ca = Path(ca_file).with_name("mlflow-again.pem")
    fresh_ca.write_text(host.file("/etc/mlflow/tls/cert.pem").content_string)
    run = run_of(address, str(fresh_ca), "bob")
    assert [m["value"] for m in run["data"]["metrics"] if m["key"] == "accuracy"] == [0.93]
    assert report_of(address, str(fresh_ca), run).content == bytes(range(256)) * 40


def test_decommission_with_purge_data_drops_the_runs_and_the_artifacts(host):
    decommission("-e", "purge_data=true")
    databases = host.check_output("runuser -u postgres -- psql -Atc 'SELECT datname FROM pg_database'").split()
    assert "mlflow" not in databases and "mlflow_auth" not in databases
    assert not host.file("/var/lib/mlflow").exists
    assert not host.file("/opt/mlflow").exists


def test_postgresql_uninstalled_with_purge_data_leaves_no_database(host):
    decommission_postgresql("-e", "purge_data=true")
    for path in ("/var/lib/postgresql", "/etc/postgresql"):
        assert not host.file(path).exists, path
    assert not host.package("postgresql-common").is_installed
    assert_unchanged(decommission_postgresql("-e", "purge_data=true"))
