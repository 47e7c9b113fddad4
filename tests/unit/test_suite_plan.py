"""What the suite runs (tests/run.sh --list): every role meets every tested Debian release,
through its own scenario on one and the lab on the other, and nothing is left out."""

import os
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def platforms():
    out = subprocess.run(
        ["sh", "-c", ". tests/platforms.env && echo $MLP_DEBIAN_VERSIONS && echo $MLP_DEBIAN_DEFAULT && echo $MLP_LAB_DEBIAN"],
        cwd=ROOT, capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    ).stdout.splitlines()
    return out[0].split(), out[1], out[2]


def plan(**env):
    result = subprocess.run(
        ["tests/run.sh", "--list"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **env},
    )
    assert result.returncode == 0, result.stderr
    runs = {}
    for line in result.stdout.splitlines():
        match = re.fullmatch(r"molecule-(\w+)-debian(\d+)", line)
        if match:
            runs.setdefault(match[1], set()).add(match[2])
    lab = re.search(r"^integration-lab \(Debian (\d+)\)$", result.stdout, re.M)
    assert lab, result.stdout
    return runs, lab[1]


def scenario_roles():
    return {path.parts[-4] for path in ROOT.glob("roles/*/molecule/default/molecule.yml")}


def with_building_blocks(roles):
    """The roles and those their tasks import or include (tls_certificate), transitively."""
    found, todo = set(), list(roles)
    while todo:
        role = todo.pop()
        if role in found:
            continue
        found.add(role)
        for tasks in (ROOT / "roles" / role / "tasks").glob("*.yml"):
            todo += re.findall(r"ansible\.builtin\.(?:import|include)_role:\n\s+name: (\w+)$", tasks.read_text(), re.M)
    return found


def lab_roles():
    """The roles of the playbooks the lab runs: site.yml, and release.yml's (train, deploy),
    with the roles these use."""
    roles = set()
    for name in ("site.yml", "train.yml", "deploy_model.yml", "rollback_model.yml"):
        text = (ROOT / "playbooks" / name).read_text()
        roles |= set(re.findall(r"^\s+(?:- role|name): (\w+)$", text, re.M)) & {p.name for p in (ROOT / "roles").iterdir()}
    return with_building_blocks(roles)


def test_every_role_scenario_runs_once_on_the_default_release():
    versions, default, _ = platforms()
    runs, _ = plan()
    assert set(runs) == scenario_roles()
    assert all(releases == {default} for releases in runs.values()), runs
    assert default in versions


def test_the_lab_runs_every_role_on_the_other_release():
    versions, default, lab = platforms()
    _, planned_lab = plan()
    assert planned_lab == lab
    assert {default, lab} == set(versions), "a tested release that no check runs"
    assert lab_roles() == {p.name for p in (ROOT / "roles").iterdir() if p.is_dir()}


def test_every_release_runs_on_demand():
    versions, default, _ = platforms()
    runs, _ = plan(MLP_EVERY_RELEASE="common docker")
    assert runs["common"] == runs["docker"] == set(versions)
    assert runs["git"] == {default}
    runs, _ = plan(MLP_EVERY_RELEASE="all")
    assert all(releases == set(versions) for releases in runs.values()), runs


def test_meta_claims_the_tested_releases_only():
    """A role with a scenario of its own (or used by one: tls_certificate) meets every release;
    one without (ml_project, tested by the lab's ML loop) claims the lab's release only."""
    versions, _, lab = platforms()
    names = {"12": "bookworm", "13": "trixie"}
    own = with_building_blocks(scenario_roles())
    for meta in ROOT.glob("roles/*/meta/main.yml"):
        role = meta.parts[-3]
        tested = versions if role in own else [lab]
        platforms_ = yaml.safe_load(meta.read_text())["galaxy_info"]["platforms"]
        assert platforms_ == [{"name": "Debian", "versions": [names[v] for v in tested]}], meta
