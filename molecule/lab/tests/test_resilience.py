"""A host that is down drops out of site.yml, every other host completes, and once it is back
a re-run converges (issue 14). Run from the admin host as its operator; the container is
stopped and started from the Docker host, as a server would go down and come back."""

import os
import subprocess

from molecule_helpers import operator, recap, task_blocks

PREFIX = os.environ.get("MLP_LAB_PREFIX", "mlp-lab")
testinfra_hosts = [f"ansible://{PREFIX}-admin"]
OTHERS = ("admin1", "eda1", "ml1", "prod1")


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=180, check=True)


def test_a_host_down_drops_out_and_every_other_host_completes(host):
    docker("stop", f"{PREFIX}-data")
    try:
        result = operator(host, "ansible-playbook playbooks/site.yml")
    finally:
        docker("start", f"{PREFIX}-data")
    out = result.stdout
    assert result.rc != 0, "site.yml succeeded with data1 down"
    hosts = recap(out)
    assert hosts["data1"]["unreachable"] == 1, out[-3000:]
    for name in OTHERS:
        assert hosts[name]["failed"] == 0 and hosts[name]["unreachable"] == 0, (name, out[-3000:])
    # Every stage ran on the others, to the last: JupyterHub's last task reported on eda1.
    jupyterhub = [block for block in task_blocks(out) if block.startswith("TASK [jupyterhub : ")]
    assert jupyterhub and "[eda1]" in jupyterhub[-1], out[-3000:]
    # Role dvc said what it left for the next run, on each host that needs DATA.
    (notice,) = [block for block in task_blocks(out) if "Say what is left for the next run" in block.split("\n")[0]]
    for name in ("eda1", "ml1", "prod1"):
        assert f"ok: [{name}]" in notice, notice
    # (the message may be folded over lines)
    assert " ".join(notice.split()).count("dvc_storage_host data1 does not answer") == 3, notice


def test_once_the_host_is_back_a_rerun_converges(host):
    # data1 boots (systemd, then sshd): wait until Ansible reaches it again.
    wait = operator(host, "ansible data1 -m ansible.builtin.wait_for_connection -a timeout=120 -o")
    assert wait.rc == 0, wait.stdout + wait.stderr
    result = operator(host, "ansible-playbook playbooks/site.yml")
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    hosts = recap(result.stdout)
    assert set(hosts) >= {"data1", *OTHERS}
    assert all(h["failed"] == 0 and h["unreachable"] == 0 for h in hosts.values()), hosts
    # The hosts never skipped anything for DATA this time.
    assert "does not answer" not in result.stdout

