"""The playbooks' order and wiring, read from their YAML."""

import yaml

from conftest import ROOT

PLAYBOOKS = ROOT / "playbooks"


def imports(name):
    return [play["ansible.builtin.import_playbook"] for play in yaml.safe_load((PLAYBOOKS / name).read_text())]


def test_site_provisions_data_before_the_hosts_that_authorize_keys_there():
    # Role dvc on eda, ml and prod authorizes the team's keys for their accounts on DATA,
    # which role common creates there: a first site.yml run fails in any other order.
    order = imports("site.yml")
    assert order.index("data.yml") < min(order.index(p) for p in ("eda.yml", "ml.yml", "prod.yml"))


def test_release_deploys_the_revision_the_training_recorded():
    plays = yaml.safe_load((PLAYBOOKS / "release.yml").read_text())
    assert [p["ansible.builtin.import_playbook"] for p in plays] == ["train.yml", "deploy_model.yml"]
    deploy_vars = plays[1]["vars"]
    assert deploy_vars["model_service_source"] == "project"
    assert "ml_project_revision" in deploy_vars["model_service_project_version"]
    train = yaml.safe_load((PLAYBOOKS / "train.yml").read_text())
    assert train[0]["hosts"] == "ml[0]"  # the host release.yml reads the revision from
