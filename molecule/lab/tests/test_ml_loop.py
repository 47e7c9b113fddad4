"""The ML loop on the lab, as its operator runs it from the admin host (issue 7).

In order (the tests depend on it): a dry run of train.yml on the fresh ml host changes
nothing; release.yml trains the example project on ml as alice, seeds the empty remote and
versions the training to data (git + DVC), and serves exactly that revision's model on prod
(which pulled it: another host gets the same model); training again with nothing changed
changes nothing, nor does its dry run; local changes in the working copy stop the training
and are kept; a hyperparameter alice pushes is trained and released into a new model;
rollback_model.yml serves the previous model again; deploy_model.yml serves a revision
named on the command line; the DATA store keeps both models. Then Airflow on admin1 runs the
loop itself (DAG ml_loop, triggered through its REST API as alice): a hyperparameter that
makes a model at least as good as the served one is trained, passes the quality gate and is
served; one that makes a worse model is trained and recorded, fails the gate, and production
keeps serving what it served.

Role ml_project has no scenario of its own: these are its tests (on the lab's Debian).
"""

import json
import os
import shlex
import time

import pytest
import yaml
from molecule_helpers import failure_report, lab_playbook, lab_shell

PREFIX = os.environ.get("MLP_LAB_PREFIX", "mlp-lab")
testinfra_hosts = [f"ansible://{PREFIX}-admin"]
REPO = "/srv/git/iris_project.git"
STORE = "/srv/dvc"
WORK = "/srv/ml/iris_project"  # the trainer's working copy on ml (ml_project_dir)
RELEASES = {}


def playbook(host, name, *extra):
    result = lab_playbook(host, name, *extra)
    assert result.rc == 0, failure_report(result)
    return result.stdout


def on(host, target, command, user=None):
    """Run a shell command on a lab host through Ansible (as root, or as `user`); its stdout."""
    return lab_shell(host, target, command, user=user)


def health(host):
    result = host.run("curl -sS --max-time 10 http://prod1/health")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def published(host):
    """The project's main on data: its commit and the sha256 of its model in the DVC store."""
    commit = on(host, "data", f"git --git-dir={REPO} rev-parse main").strip()
    lock = yaml.safe_load(on(host, "data", f"git --git-dir={REPO} show main:dvc.lock"))
    (out,) = [o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.joblib"]
    md5 = out["md5"]
    sha256 = on(host, "data", f"sha256sum {STORE}/files/md5/{md5[:2]}/{md5[2:]}").split()[0]
    return {"revision": commit, "model_sha256": sha256, "md5": md5}


def predict(host, row):
    result = host.run(f"curl -sS --max-time 10 -H 'Content-Type: application/json' "
                      f"-d {shlex.quote(json.dumps(row))} http://prod1/predict")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def test_a_dry_run_before_the_first_training_changes_nothing(host):
    result = lab_playbook(host, "train.yml", "--check", "--diff")
    assert result.rc == 0, failure_report(result)
    # Nothing was seeded, cloned or pushed.
    assert on(host, "data", f"git --git-dir={REPO} for-each-ref | wc -l").strip() == "0"
    assert on(host, "ml", f"test -e {WORK} && echo there || echo absent").strip() == "absent"


def test_release_serves_the_model_it_trained(host):
    playbook(host, "release.yml")
    want = published(host)
    served = health(host)
    assert served["revision"] == want["revision"]
    assert served["model_sha256"] == want["model_sha256"]
    assert predict(host, [5.1, 3.5, 1.4, 0.2])["class"] == "setosa"
    RELEASES["first"] = want


def test_prod_publishes_the_service_on_its_own_address_only(host):
    """The lab sets model_service_bind_address to prod1's address (CIS Docker Benchmark 5.13):
    the proxy's port is bound there, not on 0.0.0.0, so 127.0.0.1 on prod1 does not answer."""
    if "first" not in RELEASES:
        pytest.skip("the first release failed")
    address = host.check_output("getent ahostsv4 prod1").split()[0]  # the lab network's name of prod1
    # "8080/tcp -> ADDRESS:80", a line per binding (`docker port`: no Go template, which the
    # ansible command line would take for Jinja).
    bindings = on(host, "prod", "docker port model-service-proxy").split("\n")
    assert [line.split(" -> ")[1] for line in bindings if line.strip()] == [f"{address}:80"], bindings
    rc, _ = lab_shell(host, "prod", "curl -sS --max-time 5 http://127.0.0.1/health", check=False)
    assert rc != 0


def test_the_first_training_seeded_the_remote_then_pushed_its_commit(host):
    if "first" not in RELEASES:
        pytest.skip("the first release failed")
    log = on(host, "data", f"git --git-dir={REPO} log --format=%s main").splitlines()
    assert len(log) == 2 and log[1] == "Import iris_project", log
    assert log[0].startswith("Train iris_project on "), log
    metrics = json.loads(on(host, "data", f"git --git-dir={REPO} show main:metrics.json"))
    assert set(metrics) == {"accuracy", "f1_macro"} and metrics["accuracy"] >= 0.9, metrics
    # The trainer's working copy: hers, clean, at the pushed commit, with the model dvc.lock names.
    assert on(host, "ml", f"stat -c %U {WORK}").strip() == "alice"
    assert on(host, "ml", f"cd {WORK} && git status --porcelain", user="alice").strip() == ""
    assert on(host, "ml", f"cd {WORK} && git rev-parse HEAD", user="alice").strip() == RELEASES["first"]["revision"]
    assert on(host, "ml", f"md5sum {WORK}/models/model.joblib").split()[0] == RELEASES["first"]["md5"]


def test_training_again_without_changes_changes_nothing(host):
    out = playbook(host, "train.yml")
    assert "changed=0" in out, out[-2000:]
    assert published(host)["revision"] == RELEASES["first"]["revision"]


def test_the_pipeline_trains_without_mlflow_and_chooses_the_same_model(host):
    """The project's own code without MLFLOW_TRACKING_URI (a team member's laptop): the same
    grid, the same choice as the tracked training, and no run id in the model."""
    if "first" not in RELEASES:
        pytest.skip("the first release failed")
    out = on(host, "ml", "set -e; rm -rf ~/untracked && git clone -q ssh://data1/srv/git/iris_project.git ~/untracked"
             " && cd ~/untracked && export PATH=/opt/ml-envs/iris_project/bin:$PATH"
             " && env -u MLFLOW_TRACKING_URI sh -c 'python src/prepare.py && python src/train.py'"
             " && python -c 'import joblib; print(joblib.load(\"models/model.joblib\").mlflow_run_id_)'"
             " && python -c 'import json; print(json.load(open(\"models/selection.json\"))[\"chosen\"][\"model\"])'",
             user="alice")
    *_, run_id, chosen = out.strip().splitlines()
    assert run_id == "None"
    served = mlflow_api(host, f"runs/get?run_id={health(host)['mlflow_run_id']}")["run"]
    assert chosen == {tag["key"]: tag["value"] for tag in served["data"]["tags"]}["model"]


def test_a_dry_run_on_the_trained_host_changes_nothing(host):
    out = playbook(host, "train.yml", "--check", "--diff")
    assert "changed=0" in out and "failed=0" in out, out[-2000:]


def test_local_changes_in_the_working_copy_are_never_overwritten(host):
    if "first" not in RELEASES:
        pytest.skip("the first release failed")
    on(host, "ml", f"echo '# mine' >> {WORK}/src/train.py", user="alice")
    try:
        result = lab_playbook(host, "train.yml")
        assert result.rc == 2, result.stdout[-3000:]
        assert "Local modifications exist" in result.stdout, result.stdout[-3000:]
        assert "# mine" in on(host, "ml", f"tail -1 {WORK}/src/train.py")
        assert published(host)["revision"] == RELEASES["first"]["revision"]
    finally:
        on(host, "ml", f"cd {WORK} && git checkout -- src/train.py", user="alice")


def push_hyperparameter(host, value):
    """alice narrows the project's grid (params.yaml on data1) to a logistic regression with
    C = value, as she would from her clone."""
    edit = ("import yaml; p = yaml.safe_load(open('params.yaml')); "
            f"p['train']['models'] = {{'logistic_regression': {{'C': [{value}], 'max_iter': [1000]}}}}; "
            "yaml.safe_dump(p, open('params.yaml', 'w'), sort_keys=False)")
    on(host, "ml", "set -e; rm -rf ~/iris && git clone -q ssh://data1/srv/git/iris_project.git ~/iris && cd ~/iris"
       f" && /opt/ml-envs/iris_project/bin/python -c {shlex.quote(edit)}"
       f" && git -c user.name=alice -c user.email=alice@lab commit -qam 'C {value}' && git push -q origin main",
       user="alice")


def mlflow_api(host, path):
    """MLflow's REST API on admin1 as alice (her lab password, read on the host)."""
    code = ("import base64, json, ssl, urllib.request; "
            "password = open('/home/debian/.config/mlplatform/lab-mlflow-alice-password').read().strip(); "
            f"request = urllib.request.Request('https://admin1/api/2.0/mlflow/{path}', headers={{'Authorization': "
            "'Basic ' + base64.b64encode(('alice:' + password).encode()).decode()}); "
            "context = ssl.create_default_context(cafile='/etc/mlflow/tls/cert.pem'); "
            "print(urllib.request.urlopen(request, context=context, timeout=30).read().decode())")
    return json.loads(host.check_output(f"python3 -c {shlex.quote(code)}"))


def test_a_new_hyperparameter_is_released_as_a_new_model(host):
    if "first" not in RELEASES:
        pytest.skip("the first release failed")
    push_hyperparameter(host, "0.05")
    playbook(host, "release.yml")
    want = published(host)
    assert want["revision"] != RELEASES["first"]["revision"]
    assert want["model_sha256"] != RELEASES["first"]["model_sha256"]
    served = health(host)
    assert (served["revision"], served["model_sha256"]) == (want["revision"], want["model_sha256"])
    RELEASES["second"] = want


def test_rollback_serves_the_previous_model_again(host):
    if "second" not in RELEASES:
        pytest.skip("the second release failed")
    playbook(host, "rollback_model.yml")
    served = health(host)
    first = RELEASES["first"]
    assert (served["revision"], served["model_sha256"]) == (first["revision"], first["model_sha256"])


def test_deploy_model_serves_the_revision_it_is_given(host):
    if "second" not in RELEASES:
        pytest.skip("the second release failed")
    second = RELEASES["second"]
    playbook(host, "deploy_model.yml", "-e", "model_service_source=project",
             "-e", f"model_service_project_version={second['revision']}")
    served = health(host)
    assert (served["revision"], served["model_sha256"]) == (second["revision"], second["model_sha256"])


def test_data_store_keeps_every_released_model(host):
    if "second" not in RELEASES:
        pytest.skip("the second release failed")
    for release in RELEASES.values():
        path = f"{STORE}/files/md5/{release['md5'][:2]}/{release['md5'][2:]}"
        digest = on(host, "data", f"sha256sum {path}").split()[0]
        assert digest == release["model_sha256"]
    log = on(host, "data", f"git --git-dir={REPO} log --format=%s main")
    assert log.count("Train iris_project") == 2


# --- Airflow's ml_loop (role airflow on admin1; the steps: group_vars/admin.yml) ----------

AIRFLOW = "https://admin1:8443"
CURL = "curl -sS --cacert /etc/airflow/tls/cert.pem -H 'Content-Type: application/json'"


def airflow_api(host, method, path, body=None):
    """Airflow's REST API on admin1 over HTTPS as alice (the lab's generated password, read on
    the host into a file: never on a command line)."""
    host.check_output(
        "umask 077 && python3 -c 'import json; print(json.dumps({\"username\": \"alice\", \"password\":"
        " open(\"/home/debian/.config/mlplatform/lab-airflow-alice-password\").read().strip()}))'"
        " > /root/.airflow-login.json")
    token = json.loads(host.check_output(f"{CURL} -d @/root/.airflow-login.json {AIRFLOW}/auth/token"))["access_token"]
    data = f" -d {shlex.quote(json.dumps(body))}" if body is not None else ""
    answer = host.check_output(f"{CURL} -X {method} -H 'Authorization: Bearer {token}'{data} {AIRFLOW}/api/v2/{path}")
    return json.loads(answer)


def run_ml_loop(host, timeout=1200):
    """Trigger ml_loop and wait for its end: the run's state and its tasks' states."""
    assert airflow_api(host, "GET", "importErrors")["total_entries"] == 0
    run_id = airflow_api(host, "POST", "dags/ml_loop/dagRuns", {"logical_date": None})["dag_run_id"]
    deadline = time.monotonic() + timeout
    state = "queued"
    while time.monotonic() < deadline and state not in ("success", "failed"):
        time.sleep(10)
        state = airflow_api(host, "GET", f"dags/ml_loop/dagRuns/{run_id}")["state"]
    tasks = airflow_api(host, "GET", f"dags/ml_loop/dagRuns/{run_id}/taskInstances")["task_instances"]
    return state, {task["task_id"]: task["state"] for task in tasks}


def test_airflow_trains_gates_and_deploys_a_model_at_least_as_good_as_the_served_one(host):
    if "second" not in RELEASES:
        pytest.skip("the releases before failed")
    push_hyperparameter(host, "1.0")  # accuracy 0.91 on the example's test split; served: C 0.05, 0.84
    assert run_ml_loop(host) == ("success", {"train": "success", "gate": "success", "deploy": "success"})
    want = published(host)
    assert want["revision"] != RELEASES["second"]["revision"]
    served = health(host)
    assert (served["revision"], served["model_sha256"]) == (want["revision"], want["model_sha256"])
    RELEASES["loop"] = want
    # Traceable to MLflow: the served model's run, the grid's choice, registered, with the
    # test metrics evaluate wrote and the commit it trained.
    run = mlflow_api(host, f"runs/get?run_id={served['mlflow_run_id']}")["run"]
    tags = {tag["key"]: tag["value"] for tag in run["data"]["tags"]}
    assert tags["chosen"] == "true" and tags["model"] == "logistic_regression"
    assert tags["git_revision"] == on(host, "data", f"git --git-dir={REPO} rev-parse {want['revision']}~1").strip()
    metrics = {metric["key"]: metric["value"] for metric in run["data"]["metrics"]}
    committed = json.loads(on(host, "data", f"git --git-dir={REPO} show {want['revision']}:metrics.json"))
    assert metrics["test_accuracy"] == committed["accuracy"]
    versions = mlflow_api(host, f"model-versions/search?filter=run_id%3D%27{served['mlflow_run_id']}%27")
    assert [v["name"] for v in versions["model_versions"]] == ["iris_project"]


def test_a_worse_model_fails_the_gate_and_production_keeps_serving(host):
    if "loop" not in RELEASES:
        pytest.skip("the loop's first run failed")
    push_hyperparameter(host, "0.0001")  # accuracy 0.76
    assert run_ml_loop(host) == ("failed", {"train": "success", "gate": "failed", "deploy": "upstream_failed"})
    trained = published(host)
    assert trained["revision"] != RELEASES["loop"]["revision"]  # trained and recorded, not served
    served = health(host)
    assert (served["revision"], served["model_sha256"]) == (RELEASES["loop"]["revision"], RELEASES["loop"]["model_sha256"])
