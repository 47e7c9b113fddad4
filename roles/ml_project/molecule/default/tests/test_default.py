"""Role `ml_project`: the example project trained as alice, versioned to git and DVC.

In order (the tests depend on it): the first run seeded the empty remote and pushed a
training commit (dvc.lock, metrics) whose model is in the DVC store; another member gets
byte-identical data back from a fresh clone; a hyperparameter pushed by that member is
trained on the next run into a new model, and the store keeps both; a run without changes
changes nothing; local changes in the working copy are never overwritten.
"""

import functools
import json
import os
from pathlib import Path

import yaml
from molecule_helpers import as_user as _as_user
from molecule_helpers import run_playbook

SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])

REPO = "/srv/git/iris_project.git"
WORK = "/srv/ml/iris_project"
STORE = "/srv/dvc"
GIT = "git -c user.name=bob -c user.email=bob@example.org"


# In the member's login shell, stopping at the first failing step.
as_user = functools.partial(_as_user, login=True, strict=True)


def remote_file(host, path, ref="main"):
    result = host.run(f"git --git-dir={REPO} show {ref}:{path}")
    assert result.rc == 0, result.stderr
    return result.stdout


def model_md5(host, ref="main"):
    lock = yaml.safe_load(remote_file(host, "dvc.lock", ref))
    (out,) = [o for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.joblib"]
    return out["md5"]


def in_store(host, md5):
    return host.file(f"{STORE}/files/md5/{md5[:2]}/{md5[2:]}").exists


def test_remote_holds_the_seed_then_the_training_commit(host):
    log = host.run(f"git --git-dir={REPO} log --format=%s main").stdout.splitlines()
    assert len(log) == 2 and log[1] == "Import iris_project", log
    assert log[0].startswith("Train iris_project on "), log
    metrics = json.loads(remote_file(host, "metrics.json"))
    assert metrics["accuracy"] >= 0.9, metrics
    assert set(metrics) == {"accuracy", "f1_macro"}


def test_working_copy_is_clean_and_owned_by_the_trainer(host):
    assert host.file(WORK).user == "alice"
    status = as_user(host, "alice", f"cd {WORK} && git status --porcelain")
    assert status.rc == 0 and status.stdout == "", status.stdout + status.stderr
    head = as_user(host, "alice", f"cd {WORK} && git rev-parse HEAD").stdout
    assert head == host.run(f"git --git-dir={REPO} rev-parse main").stdout


def test_dvc_store_holds_the_model_named_in_dvc_lock(host):
    assert in_store(host, model_md5(host))
    local = host.run(f"md5sum {WORK}/models/model.joblib").stdout.split()[0]
    assert local == model_md5(host)


def test_another_member_gets_the_same_model_from_a_fresh_clone(host):
    result = as_user(host, "bob", f"rm -rf ~/iris && git clone -q {REPO} ~/iris && cd ~/iris"
                     " && dvc pull -q models/model.joblib && md5sum models/model.joblib")
    assert result.rc == 0, result.stderr
    assert result.stdout.split()[0] == model_md5(host)


def test_a_pushed_hyperparameter_is_trained_into_a_new_model(host):
    before = model_md5(host)
    edit = as_user(host, "bob", "cd ~/iris && sed -i 's/^  C: .*/  C: 0.05/' params.yaml"
                   f" && {GIT} commit -qam 'Stronger regularisation' && git push -q origin main")
    assert edit.rc == 0, edit.stderr
    result = run_playbook(SCENARIO / "converge.yml")
    assert "changed=0" not in result.stdout
    log = host.run(f"git --git-dir={REPO} log --format=%s main -3").stdout.splitlines()
    assert log[0].startswith("Train iris_project") and log[1] == "Stronger regularisation", log
    assert "C: 0.05" in remote_file(host, "params.yaml")
    after = model_md5(host)
    assert after != before
    # Nothing lost: the store holds the model of every trained revision.
    assert in_store(host, before) and in_store(host, after)


def test_local_changes_in_the_working_copy_are_never_overwritten(host):
    as_user(host, "alice", f"cd {WORK} && echo '# mine' >> src/train.py")
    try:
        result = run_playbook(SCENARIO / "converge.yml", expect_rc=2)
        assert "Local modifications exist" in result.stdout, result.stdout[-2000:]
        assert "# mine" in host.file(f"{WORK}/src/train.py").content_string
    finally:
        as_user(host, "alice", f"cd {WORK} && git checkout -- src/train.py")
