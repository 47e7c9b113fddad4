"""The team's data moves between the servers (issue 3), with the team test_resilience.py
grew (files/team.yml: bob, of another team group, and eve, in no team group).

In order (the tests build on each other): alice pushes a dataset and a git repository from
ml1 to data1 over SSH and gets byte-identical data back on eda1; bob reads it on data1; eve
can neither read the store nor log in to data1 although she has a key.
"""

import functools
import os

import testinfra
from molecule_helpers import as_user as _as_user

PREFIX = os.environ.get("MLP_LAB_PREFIX", "mlp-lab")
testinfra_hosts = [f"ansible://{PREFIX}-admin"]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
ML, EDA, DATA = (
    testinfra.get_host(f"ansible://{PREFIX}-{name}", ansible_inventory=INVENTORY) for name in ("ml", "eda", "data")
)
# In the member's login shell, stopping at the first failing step.
as_user = functools.partial(_as_user, login=True, strict=True)



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
