"""Behaviour of role `conda`. Conda cannot be downloaded on the project's CI machines: the
tests that need a real conda run only when MLP_MINIFORGE_INSTALLER names an installer."""

import functools
import os
from pathlib import Path

import pytest
import yaml
from molecule_helpers import ROOT, as_user, assert_unchanged, recap, run_playbook

SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
DECOMMISSION = ROOT / "playbooks" / "decommission.yml"
CONFIRMED = ("--tags", "conda", "-e", "skip_confirmation=true")

REAL_CONDA = pytest.mark.skipif(
    not os.environ.get("MLP_MINIFORGE_INSTALLER"),
    reason="needs a real Miniforge installer: set MLP_MINIFORGE_INSTALLER (conda channels and "
    "installers are unreachable from the CI machines)",
)


# In the user's login shell (their PATH and home).
login = functools.partial(as_user, login=True)


def test_condarc_is_conda_forge_only_with_per_user_dirs(host):
    condarc = yaml.safe_load(host.file("/opt/conda/.condarc").content_string)
    assert condarc["channels"] == ["conda-forge"]
    assert condarc["default_channels"] == []
    assert condarc["ssl_verify"] == "/etc/ssl/certs/ca-certificates.crt"
    assert condarc["envs_dirs"] == ["~/.conda/envs", "/opt/conda/envs"]
    assert condarc["pkgs_dirs"] == ["~/.conda/pkgs", "/opt/conda/pkgs"]


def test_shared_environments_are_read_only_for_users(host):
    envs = host.file("/opt/conda/envs")
    assert envs.user == "root" and envs.mode == 0o755
    result = host.run("runuser -u alice -- mkdir /opt/conda/envs/mine")
    assert result.rc != 0
    assert "Permission denied" in result.stderr


def test_login_shells_load_the_profile_script_cleanly(host):
    assert host.file("/etc/profile.d/conda.sh").exists
    result = login(host, "alice", "echo ok")
    assert result.rc == 0
    assert result.stderr == ""


@REAL_CONDA
def test_conda_in_every_login_shell(host):
    result = login(host, "alice", "conda --version")
    assert result.rc == 0, result.stderr
    assert result.stdout.startswith("conda ")


@REAL_CONDA
def test_shared_environment_is_a_working_kernel(host):
    kernel = yaml.safe_load(host.file("/usr/local/share/jupyter/kernels/conda-ds/kernel.json").content_string)
    assert kernel["display_name"] == "Python (data science)"
    python = kernel["argv"][0]
    result = host.run(f"{python} -c 'import ipykernel, sys; print(sys.prefix)'")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "/opt/conda/envs/ds"


def test_decommission_removes_conda_keeps_the_users_environments_and_a_reinstall_converges(host):
    """--check changes nothing; the real run takes the profile script, the kernels and the
    prefix the role made away (the environment files need not be on the control node any
    more), and leaves alice's own environments; a second run changes nothing; the role sets
    conda up again."""
    as_user(host, "alice", "mkdir -p ~/.conda/envs/mine && touch ~/.conda/envs/mine/marker")
    dry = run_playbook(DECOMMISSION, *CONFIRMED, "--check")
    assert sum(host_recap["changed"] for host_recap in recap(dry.stdout).values()) > 0
    assert host.file("/etc/profile.d/conda.sh").exists and host.file("/opt/conda/.condarc").exists

    run_playbook(DECOMMISSION, *CONFIRMED, "-e", '{"conda_environments": [{"name": "ds", "file": "/gone.yml"}]}')
    for path in ("/etc/profile.d/conda.sh", "/opt/conda", "/usr/local/share/jupyter/kernels/conda-ds"):
        assert not host.file(path).exists, path
    assert host.file("/home/alice/.conda/envs/mine/marker").exists
    result = login(host, "alice", "echo ok")
    assert result.rc == 0 and result.stderr == "", result.stderr
    assert_unchanged(run_playbook(DECOMMISSION, *CONFIRMED))

    run_playbook(SCENARIO / "converge.yml")
    assert host.file("/etc/profile.d/conda.sh").exists and host.file("/opt/conda/.condarc").exists
