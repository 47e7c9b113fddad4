"""Behaviour of role `dvc`: a user pushes to the SSH remote and gets the same bytes back;
the uninstall keeps the shared cache, and a reinstall checks data out of it."""

import functools
import os
from pathlib import Path

import pytest
from molecule_helpers import ROOT, assert_unchanged, recap, run_playbook
from molecule_helpers import as_user as _as_user

SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])

PROJECT = (
    "set -e; cd ~ && rm -rf proj && mkdir proj && cd proj && git init -q && dvc init -q"
    " && git config user.name t && git config user.email t@example.test"
)
# 2 MiB of seeded pseudo-random bytes: the same file for every user who makes it.
MAKE_DATA = (
    "python3 -c \"import random; random.seed(7); "
    "open('data.bin','wb').write(random.randbytes(2 * 1024 * 1024))\""
)


# In the user's login shell (their PATH and home).
as_user = functools.partial(_as_user, login=True)


def test_dvc_is_on_every_users_path(host):
    result = as_user(host, "bob", "dvc --version")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "3.67.1"


def test_system_config_names_the_default_remote(host):
    config = as_user(host, "alice", "dvc config --system --list").stdout.splitlines()
    assert "core.remote=storage" in config
    assert "remote.storage.url=ssh://localhost/srv/dvc-remote" in config
    assert "cache.shared=group" in config


def test_push_then_pull_returns_identical_bytes(host):
    script = (
        f"{PROJECT} && {MAKE_DATA} && sha256sum data.bin > ../want.sha && dvc add -q data.bin"
        " && git add data.bin.dvc .gitignore && git commit -qm data && dvc push -q"
        " && rm -rf data.bin .dvc/cache /var/cache/dvc/files/md5/*/* 2>/dev/null;"
        " dvc pull -q && sha256sum -c ../want.sha"
    )
    result = as_user(host, "alice", script)
    assert result.rc == 0, result.stdout + result.stderr
    assert "data.bin: OK" in result.stdout
    # The push really went over SSH into the remote directory.
    assert host.run("find /srv/dvc-remote -type f | wc -l").stdout.strip() != "0"


def test_users_key_is_authorized_on_the_storage_host(host):
    result = as_user(host, "bob", "ssh -o BatchMode=yes localhost id -un")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "bob"


def test_group_members_share_one_cache(host):
    # alice's push test filled /var/cache/dvc; bob adds the same bytes in his own project.
    as_user(host, "alice", f"{PROJECT} && {MAKE_DATA} && dvc add -q data.bin")
    result = as_user(host, "bob", f"{PROJECT} && {MAKE_DATA} && dvc add -q data.bin && dvc status -q")
    assert result.rc == 0, result.stdout + result.stderr
    assert host.file("/var/cache/dvc").group == "data-researchers"


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_private_keys_stay_private(host, user):
    key = host.file(f"/home/{user}/.ssh/id_ed25519")
    assert key.user == user
    assert key.mode == 0o600


# --- Uninstall (playbooks/decommission.yml), last: it takes DVC off the instance ---------------

DECOMMISSION = ROOT / "playbooks" / "decommission.yml"
CONFIRMED = ("--tags", "dvc", "-e", "skip_confirmation=true")


def cache_digest(host):
    return host.check_output("cd /var/cache/dvc && find . -type f | sort | xargs -r sha256sum")


def test_decommission_removes_dvc_keeps_the_cache_and_a_reinstall_pulls_again(host):
    """--check changes nothing; the real run takes the command, the virtualenv and the system
    config away and leaves the shared cache byte for byte; a second run changes nothing; the
    role installs it again and alice's project checks its data out of the kept cache."""
    cache = cache_digest(host)
    assert cache
    dry = run_playbook(DECOMMISSION, *CONFIRMED, "--check")
    assert sum(host_recap["changed"] for host_recap in recap(dry.stdout).values()) > 0
    assert as_user(host, "bob", "dvc --version").rc == 0

    run_playbook(DECOMMISSION, *CONFIRMED)
    assert as_user(host, "bob", "command -v dvc").rc != 0
    for path in ("/opt/dvc", "/usr/local/bin/dvc", "/etc/xdg/dvc"):
        assert not host.file(path).exists, path
    assert cache_digest(host) == cache
    again = run_playbook(DECOMMISSION, *CONFIRMED)
    assert_unchanged(again)

    run_playbook(SCENARIO / "converge.yml")
    result = as_user(host, "alice", "set -e; cd ~/proj && rm -f data.bin && dvc checkout -q data.bin"
                     f" && {MAKE_DATA.replace('data.bin', 'want.bin')} && cmp data.bin want.bin && echo same")
    assert result.rc == 0 and result.stdout.strip() == "same", result.stdout + result.stderr


def test_decommission_with_purge_data_removes_the_shared_cache(host):
    refused = run_playbook(DECOMMISSION, *CONFIRMED, "-e", "purge_data=maybe", expect_rc=2)
    assert "purge_data and skip_confirmation are true or false" in refused.stdout
    assert host.file("/opt/dvc").exists and host.file("/var/cache/dvc").exists
    run_playbook(DECOMMISSION, *CONFIRMED, "-e", "purge_data=true")
    assert not host.file("/var/cache/dvc").exists and not host.file("/opt/dvc").exists
    # The users' keys are theirs: they stay.
    assert host.file("/home/alice/.ssh/id_ed25519").exists
