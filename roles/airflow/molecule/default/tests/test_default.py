"""Role `airflow`: Airflow as the MLOps engineer and the monitoring use it, over HTTPS.

In order (one server; the tests depend on their order): HTTPS on Airflow's port with a
certificate that verifies, plain HTTP there redirected; nothing but nginx and sshd listens
beyond localhost; the API server, the scheduler and the DAG processor report healthy; the
login form and the REST API's tokens take the vault's passwords and refuse wrong ones, no
token and Airflow's old default admin/admin; a Viewer cannot trigger; the ml_loop DAG parses
without import errors; triggered through the REST API it runs train -> gate -> deploy as the
operator, the revision train made reaching the gate and the deploy; a gate that fails
deploys nothing; the runs are in PostgreSQL and survive a restart of everything; no secret
on a command line or readable by others; an account set absent can no longer log in;
playbooks/decommission.yml removes Airflow and keeps its database, with purge_data that goes
too.
"""

import os
import re
import subprocess
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
PASSWORDS = {"admin": SETTINGS["airflow_admin_password"],
             **{user["name"]: user["password"] for user in SETTINGS["airflow_users"]}}
PORT = 8443


def converge(*extra):
    """Re-run the scenario's converge playbook (the real roles) against the instance."""
    return run_playbook(SCENARIO / "converge.yml", *extra)


@pytest.fixture(scope="module")
def address(host):
    return container_address(host)


@pytest.fixture(scope="module")
def ca_file(host, tmp_path_factory):
    """The server's self-signed certificate, as the trust anchor the team installs."""
    return trust_anchor(host, "/etc/airflow/tls/cert.pem", tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def base(address):
    return f"https://{address}:{PORT}"


def token(base, ca_file, user, password=None):
    """A REST API token for USER (POST /auth/token), or the refusal's response."""
    response = requests.post(f"{base}/auth/token", json={"username": user, "password": password or PASSWORDS[user]},
                             verify=ca_file, timeout=60)
    return response.json()["access_token"] if response.status_code in (200, 201) else response


def api(base, ca_file, method, path, user="alice", **kwargs):
    headers = {"Authorization": f"Bearer {token(base, ca_file, user)}"}
    return requests.request(method, f"{base}/api/v2/{path}", headers=headers, verify=ca_file, timeout=60, **kwargs)


def trigger_and_wait(base, ca_file, user="alice", timeout=300):
    """Trigger ml_loop through the REST API as USER, wait for the run to end; its state and
    its tasks' states."""
    started = api(base, ca_file, "POST", "dags/ml_loop/dagRuns", user, json={"logical_date": None})
    assert started.status_code == 200, started.text
    run_id = started.json()["dag_run_id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = api(base, ca_file, "GET", f"dags/ml_loop/dagRuns/{run_id}", user).json()["state"]
        if state in ("success", "failed"):
            break
        time.sleep(3)
    else:
        pytest.fail(f"ml_loop run {run_id} still {state} after {timeout} s")
    tasks = api(base, ca_file, "GET", f"dags/ml_loop/dagRuns/{run_id}/taskInstances", user).json()
    return state, {t["task_id"]: t["state"] for t in tasks["task_instances"]}


# --- The way in ------------------------------------------------------------------------------

def test_https_verifies_and_plain_http_on_the_port_is_redirected(address, base, ca_file):
    assert requests.get(f"{base}/api/v2/monitor/health", verify=ca_file, timeout=30).status_code == 200
    by_name = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca_file,
         "--resolve", f"airflow.example.test:{PORT}:{address}", f"https://airflow.example.test:{PORT}/api/v2/monitor/health"],
        capture_output=True, text=True, check=False)
    assert by_name.stdout == "200", by_name.stderr
    plain = requests.get(f"http://{address}:{PORT}/home", allow_redirects=False, timeout=30)
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith(f"https://{address}:{PORT}/")


def test_only_nginx_and_sshd_listen_beyond_localhost(host):
    listening = host.check_output("ss -Htlnp")
    outside = [line for line in listening.splitlines()
               if not re.search(r"\s(127\.0\.0\.1|\[::1\]):\d+\s", line)]
    assert outside, listening
    for line in outside:
        assert re.search(r'"(nginx|sshd)"', line), line
    assert re.search(r"127\.0\.0\.1:8080\s", listening)


def test_scheduler_and_dag_processor_are_healthy(base, ca_file):
    health = requests.get(f"{base}/api/v2/monitor/health", verify=ca_file, timeout=30).json()
    assert health["metadatabase"]["status"] == "healthy"
    assert health["scheduler"]["status"] == "healthy"
    assert health["dag_processor"]["status"] == "healthy"


# --- Logins ----------------------------------------------------------------------------------

def login_form(base, ca_file, user, password):
    """Log in through the UI's form as a browser does; the session's cookies."""
    session = requests.Session()  # verify per request: the environment's CA bundle beats session.verify
    page = session.get(f"{base}/auth/login/", verify=ca_file, timeout=60)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    session.post(f"{base}/auth/login/", data={"username": user, "password": password, "csrf_token": csrf},
                 headers={"Referer": f"{base}/auth/login/"}, allow_redirects=False, verify=ca_file, timeout=60)
    return session


def test_the_login_form_takes_the_vaults_password_and_refuses_a_wrong_one(base, ca_file):
    session = login_form(base, ca_file, "alice", PASSWORDS["alice"])
    assert "_token" in session.cookies
    dags = requests.get(f"{base}/api/v2/dags", headers={"Authorization": f"Bearer {session.cookies['_token']}"},
                        verify=ca_file, timeout=60)
    assert dags.status_code == 200
    assert "_token" not in login_form(base, ca_file, "alice", "not-her-password").cookies


def test_the_rest_api_wants_a_token_and_refuses_wrong_and_default_passwords(base, ca_file):
    assert requests.get(f"{base}/api/v2/dags", verify=ca_file, timeout=60).status_code == 401
    assert token(base, ca_file, "alice", "wrong-password-123").status_code == 401
    assert token(base, ca_file, "admin", "admin").status_code == 401
    assert isinstance(token(base, ca_file, "admin"), str)


# --- The ML loop -----------------------------------------------------------------------------

def test_ml_loop_parses_without_import_errors(base, ca_file):
    assert api(base, ca_file, "GET", "importErrors").json()["total_entries"] == 0
    dag = api(base, ca_file, "GET", "dags/ml_loop").json()
    assert dag["is_paused"] is False
    tasks = api(base, ca_file, "GET", "dags/ml_loop/tasks").json()["tasks"]
    assert {t["task_id"]: t["downstream_task_ids"] for t in tasks} == {
        "train": ["gate"], "gate": ["deploy"], "deploy": []}


def test_a_viewer_cannot_trigger_the_loop(base, ca_file):
    assert api(base, ca_file, "POST", "dags/ml_loop/dagRuns", "bob", json={"logical_date": None}).status_code == 403


def test_a_triggered_run_trains_gates_and_deploys_the_trained_revision_as_the_operator(host, base, ca_file):
    revision = uuid.uuid4().hex[:12]
    host.check_output(f"runuser -u ops -- sh -c 'cd /srv/loop && echo {revision} > next-revision && touch gate-passes && : > steps.log'")
    state, tasks = trigger_and_wait(base, ca_file)
    assert (state, tasks) == ("success", {"train": "success", "gate": "success", "deploy": "success"})
    assert host.file("/srv/loop/steps.log").content_string.splitlines() == [
        "train  ops  airflow-scenario", f"gate {revision} ops {revision} airflow-scenario",
        f"deploy {revision} ops {revision} airflow-scenario"]
    assert host.file("/srv/loop/deployed").content_string.strip() == revision
    assert host.file("/srv/loop/deployed").user == "ops"


def test_a_model_that_fails_the_gate_deploys_nothing(host, base, ca_file):
    served = host.file("/srv/loop/deployed").content_string
    host.check_output("runuser -u ops -- sh -c 'cd /srv/loop && echo 0123456789ab > next-revision && rm -f gate-passes'")
    state, tasks = trigger_and_wait(base, ca_file)
    assert (state, tasks) == ("failed", {"train": "success", "gate": "failed", "deploy": "upstream_failed"})
    assert host.file("/srv/loop/deployed").content_string == served
    assert not host.file("/srv/loop/steps.log").contains("^deploy 0123456789ab")


def test_the_runs_are_in_postgresql_and_survive_a_restart(host, base, ca_file):
    runs = api(base, ca_file, "GET", "dags/ml_loop/dagRuns").json()["total_entries"]
    assert runs >= 2
    host.check_output("systemctl restart postgresql airflow-api-server airflow-scheduler airflow-dag-processor")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            health = requests.get(f"{base}/api/v2/monitor/health", verify=ca_file, timeout=10).json()
            if health["scheduler"]["status"] == "healthy":
                break
        except (requests.RequestException, ValueError):
            pass
        time.sleep(3)
    assert api(base, ca_file, "GET", "dags/ml_loop/dagRuns").json()["total_entries"] == runs
    stored = host.check_output("runuser -u postgres -- psql -d airflow -Atc \"SELECT count(*) FROM dag_run WHERE dag_id = 'ml_loop'\"")
    assert int(stored) == runs


def test_no_secret_is_on_a_command_line_or_readable_by_others(host):
    processes = host.check_output("ps -eo args")
    for secret in (SETTINGS["airflow_db_password"], SETTINGS["airflow_admin_password"]):
        assert secret not in processes
    for path, mode in (("/etc/airflow/airflow.env", 0o600), ("/etc/airflow/secret.env", 0o600)):
        assert host.file(path).mode == mode, path
    assert as_user(host, "ops", "cat /etc/airflow/airflow.env").rc != 0
    assert as_user(host, "ops", "/usr/local/sbin/airflow-admin dags list").rc != 0


# --- Changes from the inventory -------------------------------------------------------------

def test_an_account_set_absent_can_no_longer_log_in(base, ca_file):
    assert isinstance(token(base, ca_file, "bob"), str)
    users = [u for u in SETTINGS["airflow_users"] if u["name"] != "bob"] + [{"name": "bob", "state": "absent"}]
    converge("-e", yaml.safe_dump({"airflow_users": users}, default_flow_style=True).strip())
    assert token(base, ca_file, "bob").status_code == 401
    assert isinstance(token(base, ca_file, "alice"), str)


# --- Uninstall (playbooks/decommission.yml) -----------------------------------------------

def decommission(*extra):
    return run_playbook(ROOT / "playbooks/decommission.yml", "--tags", "airflow", "-e", "skip_confirmation=true", *extra)


def test_decommission_keeps_the_database_and_purge_data_drops_it(host, base, ca_file):
    decommission()
    for unit in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor"):
        assert not host.service(unit).is_running, unit
    for path in ("/opt/airflow", "/etc/airflow", "/etc/sudoers.d/airflow-ml-loop", "/etc/nginx/sites-enabled/airflow.conf"):
        assert not host.file(path).exists, path
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/api/v2/monitor/health", verify=ca_file, timeout=10)
    kept = host.check_output("runuser -u postgres -- psql -d airflow -Atc \"SELECT count(*) FROM dag_run WHERE dag_id = 'ml_loop'\"")
    assert int(kept) >= 2
    assert_unchanged(decommission())

    decommission("-e", "purge_data=true")
    databases = host.check_output("runuser -u postgres -- psql -Atc 'SELECT datname FROM pg_database'").split()
    assert "airflow" not in databases
    assert not host.file("/var/lib/airflow").exists
