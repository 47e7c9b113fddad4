"""The playbooks' order and wiring, read from their YAML."""

import pytest
import yaml

from conftest import ROOT

PLAYBOOKS = ROOT / "playbooks"
PLATFORM = "admin:data:eda:ml:prod"


def load(name):
    return yaml.safe_load((PLAYBOOKS / name).read_text())


def roles_of(play):
    """[(role, when)] of a play, in order: its roles, then the roles its tasks include."""
    listed = [(r["role"], r.get("when", "")) for r in play.get("roles", [])]
    included = [(t["ansible.builtin.include_role"]["name"], t.get("when", ""))
                for t in play.get("tasks", []) if "ansible.builtin.include_role" in t]
    return listed + included


def stage_of(plays, role):
    (index,) = [i for i, play in enumerate(plays) for name, _ in roles_of(play) if name == role]
    return index


def test_every_play_of_site_spans_every_group():
    # A play of one group only would end the whole run when that group's hosts are down or
    # fail (Ansible stops at a play whose hosts all failed): every play spans the platform,
    # and the groups pick their roles.
    for play in load("site.yml"):
        assert play["hosts"] == "{{ site_limit | default('%s') }}" % PLATFORM, play["name"]


def test_site_creates_every_account_before_the_hosts_authorize_keys_on_data():
    # Role dvc on eda, ml and prod authorizes the team's keys for their accounts on DATA,
    # which role common creates there: a first site.yml run fails in any other order.
    plays = load("site.yml")
    assert stage_of(plays, "common") < stage_of(plays, "dvc")
    assert roles_of(plays[stage_of(plays, "common")]) == [("common", "")]  # every host, no condition


def test_conda_comes_before_jupyterhub():
    plays = load("site.yml")
    assert stage_of(plays, "conda") <= stage_of(plays, "jupyterhub")
    if stage_of(plays, "conda") == stage_of(plays, "jupyterhub"):
        names = [name for name, _ in roles_of(plays[stage_of(plays, "conda")])]
        assert names.index("conda") < names.index("jupyterhub")


def test_each_group_gets_its_roles():
    plays = load("site.yml")
    wanted = {"common": "", "data_storage": "data", "git": "admin eda ml prod", "conda": "eda ml",
              "dvc": "eda ml prod", "docker": "prod", "jupyterhub": "eda", "postgresql": "admin",
              "mlflow": "admin", "airflow": "admin"}
    found = {name: when for play in plays for name, when in roles_of(play)}
    # Backups go where there is something to back up (backup_paths; group_vars/data.yml).
    assert found.pop("backup") == "backup_paths | default([]) | length > 0"
    # The swarm's nodes (mlp_swarm on, hosts of swarm_group; group_vars/all/swarm.yml).
    assert found.pop("swarm") == "mlp_swarm_node | bool"
    assert set(found) == set(wanted)
    for role, groups in wanted.items():
        for group in groups.split():
            assert f"'{group}'" in found[role], (role, group, found[role])


def test_data_and_eda_back_up_what_their_roles_keep_after_it_is_made():
    plays = load("site.yml")
    names = [name for name, _ in roles_of(plays[stage_of(plays, "backup")])]
    for role in ("data_storage", "jupyterhub"):
        assert stage_of(plays, role) == stage_of(plays, "backup")
        assert names.index(role) < names.index("backup")
    data = yaml.safe_load((ROOT / "group_vars" / "data.yml").read_text())
    assert data["backup_paths"] == ["{{ data_storage_path }}", "{{ data_storage_git_path }}"]
    eda = yaml.safe_load((ROOT / "group_vars" / "eda.yml").read_text())
    assert "jupyterhub_state_dir" in eda["backup_paths"] and "jupyterhub_state_dir" in eda["backup_pre_commands"][0]["command"]
    shared = yaml.safe_load((ROOT / "group_vars" / "all" / "backup.yml").read_text())
    assert "groups['admin']" in shared["backup_server"]


def test_group_playbooks_are_site_limited_to_their_group():
    for group in ("admin", "data", "eda", "ml", "prod"):
        (play,) = load(f"{group}.yml")
        assert play["ansible.builtin.import_playbook"] == "site.yml"
        assert play["vars"] == {"site_limit": group}


def test_release_deploys_the_revision_the_training_recorded():
    plays = load("release.yml")
    assert [p["ansible.builtin.import_playbook"] for p in plays] == ["train.yml", "deploy_model.yml"]
    deploy_vars = plays[1]["vars"]
    assert deploy_vars["model_service_source"] == "project"
    assert "ml_project_revision" in deploy_vars["model_service_project_version"]
    train = load("train.yml")
    assert train[0]["hosts"] == "ml[0]"  # the host release.yml reads the revision from


def test_the_swarm_forms_after_the_engines_in_a_linear_play():
    # Role swarm compares the nodes at each step (hostvars): a play of the free strategy, as
    # stage 2's, would let a node read another's state before it was there.
    plays = load("site.yml")
    swarm = plays[stage_of(plays, "swarm")]
    assert stage_of(plays, "docker") < stage_of(plays, "swarm")
    assert swarm.get("strategy", "linear") in ("linear", "ansible.builtin.linear")
    assert roles_of(swarm) == [("swarm", "mlp_swarm_node | bool")]


@pytest.mark.parametrize("name", ["deploy_model.yml", "rollback_model.yml"])
def test_the_model_service_is_deployed_host_by_host_or_across_the_swarm_at_once(name):
    """Single mode, one PROD host at a time (the others keep serving); swarm mode, every node
    in one play (each builds the image before the manager updates the service)."""
    plays = load(name)
    assert plays[0] == {"name": "Sort the PROD hosts by how the service runs",
                        "ansible.builtin.import_playbook": "model_service_modes.yml"}
    (sort,) = load("model_service_modes.yml")
    assert sort["hosts"] == "prod" and "always" in sort["tags"]
    assert "model_service_mode_" in sort["tasks"][0]["ansible.builtin.group_by"]["key"]
    single, swarm = plays[1:]
    assert (single["hosts"], single["serial"]) == ("model_service_mode_single", 1)
    assert swarm["hosts"] == "model_service_mode_swarm" and "serial" not in swarm
    assert swarm.get("strategy", "linear") == "linear"


def test_decommission_asks_first_then_each_role_uninstalls_under_its_tag():
    """The confirmation play runs whatever the tags (kubespray's reset.yml asks first too);
    every role it takes off has that entry point (tasks file and argument spec) and its tag,
    on the groups site.yml gives the role, and purge_data reaches the role's own switch
    where it has one."""
    confirm, remove = load("decommission.yml")
    assert confirm["tags"] == ["always"] and confirm["hosts"] == remove["hosts"]
    assert [task["ansible.builtin.pause"] for task in confirm["tasks"] if "ansible.builtin.pause" in task]
    site_when = dict(roles_of(load("site.yml")[2]))
    for task in remove["tasks"]:
        include = task["ansible.builtin.include_role"]
        role, entry = include["name"], include["tasks_from"]
        assert (ROOT / "roles" / role / "tasks" / f"{entry}.yml").is_file(), role
        specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        assert entry in specs["argument_specs"], role
        assert task["tags"] == [role] and include["apply"]["tags"] == [role]
        # The model service is deploy_model.yml's, on prod.
        assert task["when"] == site_when.get(role, "'prod' in group_names"), role
        # A role with data of its own to purge declares <role>_purge_data, and purge_data
        # reaches it; one without (git, conda, backup: their data are the users' or the
        # snapshots, never removed) gets nothing it would ignore.
        if entry == "uninstall" and f"{role}_purge_data" in specs["argument_specs"]["uninstall"]["options"]:
            assert task["vars"] == {f"{role}_purge_data": "{{ purge_data | default(false) | bool }}"}
        elif entry == "uninstall":
            assert "vars" not in task and role in ("git", "conda", "backup"), role


def test_the_ml_loops_steps_are_the_projects_playbooks_handing_on_the_trained_commit():
    """Airflow's ml_loop on the platform (group_vars/admin.yml): train.yml reports the commit
    (ML_LOOP_REVISION_FILE), the gate and the deploy get it; the gate asks PROD first."""
    steps = yaml.safe_load((ROOT / "group_vars" / "admin.yml").read_text())["airflow_ml_loop_steps"]
    assert list(steps) == ["train", "gate", "deploy"]
    for name, argv in steps.items():
        assert argv[0] == "ansible-playbook" and (ROOT / argv[1]).is_file(), name
        assert ("{revision}" in " ".join(argv)) == (name != "train"), name
    (report,) = load("train.yml")[0]["post_tasks"]
    assert "ML_LOOP_REVISION_FILE" in report["ansible.builtin.copy"]["dest"]
    served, gate = load("quality_gate.yml")
    assert served["hosts"] == "prod[0]" and gate["hosts"] == "ml[0]"
    (include,) = roles_of(gate)
    assert include[0] == "ml_project"
    assert gate["tasks"][0]["ansible.builtin.include_role"]["tasks_from"] == "gate"
