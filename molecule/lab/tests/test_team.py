"""The team grows, and its data moves between the servers (issues 3 and 14).

In order (the tests build on each other): the operator adds bob and eve
(files/team.yml) with a site.yml run that is interrupted (Ctrl-C) mid-run; the next run
repairs it, and a third changes nothing. Then data versioning across hosts: alice pushes a
dataset and a git repository from ml1 to data1 over SSH and gets byte-identical data back on
eda1; bob, of another team group, reads it on data1; eve, in no team group, can neither read
the store nor log in to data1 although she has a key.
"""

import functools
import os
import time

import testinfra
from molecule_helpers import as_user as _as_user
from molecule_helpers import operator, recap

PREFIX = os.environ.get("MLP_LAB_PREFIX", "mlp-lab")
testinfra_hosts = [f"ansible://{PREFIX}-admin"]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
ML, EDA, DATA = (
    testinfra.get_host(f"ansible://{PREFIX}-{name}", ansible_inventory=INVENTORY) for name in ("ml", "eda", "data")
)
SITE = "ansible-playbook playbooks/site.yml -e @molecule/lab/files/team.yml"
LOG = "/tmp/mlp-team-run.log"
# In the member's login shell, stopping at the first failing step.
as_user = functools.partial(_as_user, login=True, strict=True)


def wait_for(host, command, seconds):
    """Poll a command on the host until it succeeds; False when the time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if host.run(command).rc == 0:
            return True
        time.sleep(0.5)
    return False


def test_an_interrupted_run_leaves_nothing_the_next_cannot_repair(host):
    # In the background with job control (set -m): a job of its own process group, which
    # does not ignore SIGINT, as a run started in a terminal.
    operator(host, f"set -m; rm -f {LOG}; nohup {SITE} >{LOG} 2>&1 & echo $! >{LOG}.pid")
    # Interrupt once stage 2 makes the new members' DVC keys (their accounts exist by then,
    # their keys are not yet authorized on data1), as Ctrl-C does: SIGINT to the run's
    # process group.
    reached = wait_for(host, f"grep -q 'TASK \\[dvc : Give each user a key pair' {LOG}", 600)
    host.run(f"kill -INT -- -$(cat {LOG}.pid)")
    assert reached, host.run(f"tail -40 {LOG}").stdout
    assert wait_for(host, "! pgrep -f 'ansible-playbook playbooks/site.yml'", 120), "the run did not stop"
    log = host.run(f"cat {LOG}").stdout
    assert "User interrupted execution" in log, log[-3000:]
    assert "PLAY [Stage 3" not in log, "the run ended before it was interrupted"

    repair = operator(host, SITE)
    assert repair.rc == 0, repair.stdout[-4000:] + repair.stderr[-2000:]
    again = operator(host, SITE)
    assert again.rc == 0, again.stdout[-4000:]
    changed = {name: counts["changed"] for name, counts in recap(again.stdout).items()}
    assert set(changed.values()) == {0}, (changed, again.stdout[-4000:])


def test_push_project_and_data_from_ml():
    script = (
        "rm -rf proj && mkdir proj && cd proj && git init -q"
        " && git config user.name alice && git config user.email alice@example.test"
        " && dvc init -q && mkdir data"
        " && python3 -c \"import random; random.seed(42);"
        " open('data/train.csv','w').write(''.join(f'{random.random()},{random.randint(0,1)}\\n'"
        " for _ in range(50000)))\""
        " && sha256sum data/train.csv > ~/train.sha"
        " && dvc add -q data/train.csv && git add -A && git commit -qm 'dataset v1'"
        " && ssh data1 'rm -rf proj.git && git init -q --bare proj.git'"
        " && git remote add origin data1:proj.git && git push -q origin main && dvc push -q"
    )
    result = as_user(ML, "alice", script)
    assert result.rc == 0, result.stdout + result.stderr


def test_the_push_landed_in_the_store_owned_by_the_team():
    files = DATA.run("find /srv/dvc/files -type f").stdout.split()
    assert files, "dvc push left nothing in /srv/dvc"
    for path in files:
        assert DATA.file(path).group == "data-researchers"


def test_pull_on_eda_gives_byte_identical_data():
    want = ML.run("cat /home/alice/train.sha").stdout
    script = "rm -rf proj && git clone -q data1:proj.git && cd proj && dvc pull -q && sha256sum data/train.csv"
    result = as_user(EDA, "alice", script)
    assert result.rc == 0, result.stdout + result.stderr
    assert result.stdout.split()[0] == want.split()[0]


def test_another_team_group_can_read_what_alice_pushed():
    path = DATA.run("find /srv/dvc/files -type f").stdout.split()[0]
    assert as_user(DATA, "bob", f"cat {path} > /dev/null").rc == 0


def test_outsider_cannot_read_the_store_on_data():
    listing = as_user(DATA, "eve", "ls /srv/dvc")
    assert listing.rc != 0
    assert "Permission denied" in listing.stderr


def test_outsider_cannot_log_in_to_data_although_she_has_a_key():
    result = as_user(EDA, "eve", "ssh -o BatchMode=yes data1 true")
    assert result.rc != 0
    assert "Permission denied" in result.stderr
    assert as_user(EDA, "alice", "ssh -o BatchMode=yes data1 true").rc == 0
