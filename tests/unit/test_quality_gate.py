"""The ML loop's quality gate (role ml_project, entry point gate; playbooks/quality_gate.yml
runs it on ML with the commit PROD serves): run here against a git repository of commits
with known metrics. A worse model is refused with both figures named; an equal or better
one, one within the margin, or one with nothing of this project served passes; a lower-is-
better metric turns the comparison; a missing metric or commit is a clear error."""

import getpass
import subprocess

import pytest

from conftest import local_playbook

METRICS = {"good": '{"accuracy": 0.9, "loss": 0.2}', "bad": '{"accuracy": 0.5, "loss": 0.7}',
           "better": '{"accuracy": 0.95, "loss": 0.1}', "broken": "not json"}


@pytest.fixture(scope="module")
def commits(tmp_path_factory):
    repo = tmp_path_factory.mktemp("project")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.test"]
    subprocess.run([*git, "init", "-q"], check=True)
    made = {}
    for name, content in METRICS.items():
        (repo / "metrics.json").write_text(content + "\n")
        subprocess.run([*git, "add", "metrics.json"], check=True)
        subprocess.run([*git, "commit", "-qm", name], check=True)
        made[name] = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                                    text=True).stdout.strip()
    made["dir"] = str(repo)
    return made


def gate(commits, tmp_path, new, served, **extra):
    return local_playbook("ml_project_gate.yml", {
        "ml_project_user": getpass.getuser(), "ml_project_dir": commits["dir"],
        "ml_project_gate_revision": commits.get(new, new),
        "ml_project_gate_served_revision": commits.get(served, served), **extra}, tmp_path)


@pytest.mark.parametrize(("new", "served", "extra", "passes", "says"), [
    ("bad", "good", {}, False, "has accuracy 0.5, worse than 0.9 of the served"),
    ("better", "good", {}, True, "the served"),
    ("good", "good", {}, True, "accuracy 0.9, the served"),
    ("bad", "good", {"ml_project_gate_margin": 0.5}, True, "margin 0.5"),
    ("good", "unknown", {}, True, "nothing served of this project to compare with: unknown"),
    ("good", "", {}, True, "nothing served of this project to compare with)"),
    ("good", "0" * 40, {}, True, "nothing served of this project"),
    ("bad", "good", {"ml_project_gate_metric": "loss", "ml_project_gate_higher_is_better": False}, False,
     "loss 0.7, worse than 0.2"),
    ("better", "good", {"ml_project_gate_metric": "loss", "ml_project_gate_higher_is_better": False}, True,
     "loss 0.1"),
    ("good", "good", {"ml_project_gate_metric": "f1"}, False, "no numeric 'f1'"),
    ("broken", "good", {}, False, "no numeric 'accuracy'"),
    ("1" * 40, "good", {}, False, "no numeric 'accuracy'"),
    ("HEAD", "good", {}, False, "ml_project_gate_revision: must be a commit"),
], ids=["worse", "better", "equal", "within-margin", "example-served", "nothing-served", "unknown-commit-served",
        "worse-loss", "better-loss", "missing-metric", "metrics-not-json", "unknown-commit", "not-a-commit"])
def test_the_gate(commits, tmp_path, new, served, extra, passes, says):
    result = gate(commits, tmp_path, new, served, **extra)
    assert (result.returncode == 0) == passes, result.stdout[-3000:]
    assert says in result.stdout, result.stdout[-3000:]
    if not passes:
        assert "Nothing is deployed" in result.stdout or "bad input" in result.stdout
