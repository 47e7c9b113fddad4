"""Behaviour of role `dvc`: a user pushes to the SSH remote and gets the same bytes back."""

import functools

import pytest
from molecule_helpers import as_user as _as_user

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
