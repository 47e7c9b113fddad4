"""The project's top-level group_vars/ load for every inventory and playbook, and the
inventory's own group_vars/ override them."""

import json
import textwrap

from conftest import ROOT, ansible

PROBE_PLAY = textwrap.dedent(
    """
    - name: Show what the play sees
      hosts: all
      gather_facts: false
      tasks:
        - name: Write down the team's data group and the team groups
          ansible.builtin.copy:
            content: "{{ {'data_group': mlp_team_data_group | default('UNDEFINED'),
                          'groups': common_team_groups | default('UNDEFINED')} | to_json }}"
            dest: "{{ probe_out }}"
            mode: "0600"
    """
)


def probe(tmp_path, inventory, env=None):
    """Run a playbook that lives outside the project against `inventory`; return what it saw."""
    play = tmp_path / "elsewhere" / "probe.yml"
    play.parent.mkdir(exist_ok=True)
    play.write_text(PROBE_PLAY)
    out = tmp_path / "seen.json"
    result = ansible(
        "ansible-playbook", "-i", str(inventory), "-e", f"probe_out={out}", str(play),
        cwd=tmp_path, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text())


def make_inventory(tmp_path, data_group_override=None):
    inv_dir = tmp_path / "site"
    inv_dir.mkdir()
    (inv_dir / "hosts.yml").write_text(
        "all:\n  children:\n    eda:\n      hosts:\n        probe:\n"
        "          ansible_connection: local\n"
        "          ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
    )
    if data_group_override:
        (inv_dir / "group_vars").mkdir()
        (inv_dir / "group_vars" / "all.yml").write_text(f"mlp_team_data_group: {data_group_override}\n")
    return inv_dir / "hosts.yml"


def test_project_group_vars_reach_a_play_from_any_inventory(tmp_path):
    seen = probe(tmp_path, make_inventory(tmp_path))
    assert seen["data_group"] == "data-researchers"
    assert seen["groups"] == ["data-researchers", "ml-researchers", "developers"]


def test_inventory_group_vars_override_project_group_vars(tmp_path):
    # ... and what the project derives from them follows (the team groups of role common).
    seen = probe(tmp_path, make_inventory(tmp_path, data_group_override="analysts"))
    assert seen["data_group"] == "analysts"
    assert seen["groups"] == ["analysts", "ml-researchers", "developers"]


def test_an_ad_hoc_command_from_the_project_root_sees_the_same_override(tmp_path):
    # Ansible also reads group_vars/ next to the "playbook", the working directory for an
    # ad-hoc command: from the project root it read the project's a second time, above the
    # inventory's own (ansible.cfg now reads group_vars/ next to the inventory only).
    inventory = make_inventory(tmp_path, data_group_override="analysts")
    result = ansible("ansible", "probe", "-i", str(inventory), "-m", "ansible.builtin.debug",
                     "-a", "msg={{ mlp_team_data_group }}", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "msg: analysts" in result.stdout, result.stdout


def test_without_the_plugin_ansible_would_not_load_them(tmp_path):
    # The negative control: proves the first test depends on the project's vars plugin.
    seen = probe(
        tmp_path, make_inventory(tmp_path), env={"ANSIBLE_VARS_ENABLED": "host_group_vars"}
    )
    assert seen["data_group"] == "UNDEFINED"


def test_production_inventory_sees_project_group_vars():
    result = ansible(
        "ansible-inventory", "-i", str(ROOT / "inventory/production/hosts.yml"), "--host", "eda1"
    )
    assert result.returncode == 0, result.stderr
    host_vars = json.loads(result.stdout)
    assert host_vars["mlp_team_data_group"] == "data-researchers"
    assert host_vars["common_admin_authorized_keys"] == []  # the site's own group_vars
    assert host_vars["ansible_host"] == "192.0.2.20"


def test_production_inventory_has_every_group():
    result = ansible(
        "ansible-inventory", "-i", str(ROOT / "inventory/production/hosts.yml"), "--list"
    )
    groups = json.loads(result.stdout)
    for group in ("admin", "eda", "ml", "data", "prod"):
        assert groups[group]["hosts"], group


def test_project_configuration_keeps_host_key_checking():
    # Only the lab (inventory/lab/group_vars) turns it off, for its own containers.
    result = ansible("ansible-config", "dump", "--only-changed", "-t", "all")
    assert result.returncode == 0, result.stderr
    assert "HOST_KEY_CHECKING" not in result.stdout
    assert "inventory/production/hosts.yml" in result.stdout


def test_remotes_derived_from_the_data_host_render_without_one(tmp_path):
    # An inventory without DATA hosts (the probe has only eda): the URLs derived from the
    # DATA host are empty -- the roles then name the missing variable -- instead of a
    # templating error in every play that validates them (found in the model_service
    # scenario, whose inventory has only prod).
    names = ["dvc_remote_url", "ml_project_git_repo", "model_service_project_repo"]
    result = ansible("ansible", "probe", "-i", str(make_inventory(tmp_path)), "-m", "ansible.builtin.debug",
                     "-a", json.dumps({"msg": "{{ [" + ", ".join(names) + "] | join('|') }}"}), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "msg: '||'" in result.stdout, result.stdout


def test_remotes_point_at_the_first_data_host(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    data:\n      hosts:\n        store1:\n"
                         "          ansible_host: 192.0.2.40\n          ansible_connection: local\n")
    result = ansible("ansible", "store1", "-i", str(inventory), "-m", "ansible.builtin.debug",
                     "-a", json.dumps({"msg": "{{ dvc_remote_url }} {{ ml_project_git_repo }}"}), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ssh://192.0.2.40/srv/dvc ssh://192.0.2.40/srv/git/iris_project.git" in result.stdout


def rendered(tmp_path, inventory, template, override=None):
    """What `template` renders to for the probe host of `inventory`, after writing the
    inventory's group_vars/eda.yml (override) if given."""
    if override is not None:
        (inventory.parent / "group_vars").mkdir(exist_ok=True)
        (inventory.parent / "group_vars" / "eda.yml").write_text(override)
    result = ansible("ansible", "probe", "-i", str(inventory), "-m", "ansible.builtin.debug",
                     "-a", json.dumps({"msg": template}), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_eda_firewall_opens_the_hubs_ports_and_follows_an_override(tmp_path):
    """The hub's ports are named once (group_vars/eda.yml) for role jupyterhub and the host
    firewall of role common; an inventory that moves the hub moves the firewall's rule."""
    inventory = make_inventory(tmp_path)
    template = "{{ common_firewall_allow | map(attribute='port') | list }} {{ jupyterhub_https_port }}"
    assert "[80, 443] 443" in rendered(tmp_path, inventory, template)
    assert "[80, 8443] 8443" in rendered(tmp_path, inventory, template, "jupyterhub_https_port: 8443\n")


def test_eda_backs_up_homes_shared_directory_and_hub_state_to_the_first_admin_host(tmp_path):
    inventory = make_inventory(tmp_path)
    inventory.write_text(inventory.read_text() + "    admin:\n      hosts:\n        ops1:\n")
    template = "{{ backup_paths | join(',') }} {{ backup_server }} {{ backup_exclude | join(',') }}"
    assert ("/home,/srv/team,/var/lib/jupyterhub ops1 /var/lib/jupyterhub/jupyterhub.sqlite*"
            in rendered(tmp_path, inventory, template))
    # Without a shared directory, the backup leaves it out (no empty path).
    assert "/home,/var/lib/jupyterhub ops1" in rendered(tmp_path, inventory, template, "jupyterhub_shared_dir: ''\n")


def test_swarm_nodes_get_their_ports_no_live_restore_and_the_swarm_service(tmp_path):
    """mlp_swarm on: the hosts of swarm_group (and only they) get the swarm's ports in the host
    firewall, beside their group's own (EDA's hub), role docker's live-restore off, and the
    model service in swarm mode."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    prod:\n      hosts:\n        probe:\n"
                         "          ansible_connection: local\n    eda:\n      hosts:\n        hub1:\n"
                         "          ansible_connection: local\n")
    template = ("{{ common_firewall_allow | map(attribute='port') | list }} {{ docker_live_restore }}"
                " {{ model_service_mode }}")

    def seen(host, *extra):
        result = ansible("ansible", host, "-i", str(inventory), "-m", "ansible.builtin.debug",
                         "-a", json.dumps({"msg": template}), *extra, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    assert "[] True single" in seen("probe")
    on = ["-e", json.dumps({"mlp_swarm": True, "mlp_swarm_sources": ["10.0.0.0/8"]})]
    assert "[2377, 7946, 7946, 4789] False swarm" in seen("probe", *on)
    assert "[80, 443] True single" in seen("hub1", *on)
    # EDA in the swarm too (its group named swarm_group): the hub's ports and the swarm's.
    assert "[80, 443, 2377, 7946, 7946, 4789] False" in seen("hub1", "-e", json.dumps({"mlp_swarm": True, "swarm_group": "eda"}))
    rules = ansible("ansible", "probe", "-i", str(inventory), "-m", "ansible.builtin.debug",
                    "-a", "var=common_firewall_allow", *on, cwd=tmp_path).stdout
    assert "10.0.0.0/8" in rules and "udp" in rules
