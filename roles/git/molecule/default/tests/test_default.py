"""Behaviour of role `git` (see converge.yml and prepare.yml)."""

from molecule_helpers import as_user


def test_new_repositories_start_on_the_default_branch(host):
    result = as_user(host, "alice", "rm -rf /tmp/a && git init -q /tmp/a && git -C /tmp/a symbolic-ref HEAD")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "refs/heads/main"


def test_lfs_filters_store_pointers(host):
    script = (
        "set -e; rm -rf /tmp/lfs && git init -q /tmp/lfs && cd /tmp/lfs"
        " && git lfs track '*.bin' >/dev/null && head -c 4096 /dev/urandom > w.bin"
        " && git add .gitattributes w.bin"
        " && git -c user.name=a -c user.email=a@example.test commit -qm w"
        " && git lfs ls-files && git cat-file -p HEAD:w.bin"
    )
    result = as_user(host, "alice", script)
    assert result.rc == 0, result.stderr
    assert "w.bin" in result.stdout
    assert "version https://git-lfs.github.com/spec/v1" in result.stdout


def test_safe_directory_lets_other_users_work_in_a_shared_repository(host):
    assert as_user(host, "bob", "git -C /srv/git/shared status").rc == 0


def test_unlisted_repository_of_another_user_stays_refused(host):
    result = as_user(host, "bob", "git -C /srv/git/other status")
    assert result.rc != 0
    assert "dubious ownership" in result.stderr


def test_extra_settings(host):
    assert host.run("git config --system pull.rebase").stdout.strip() == "false"
    assert host.run("git config --system --get-regexp insteadof").stdout.strip() == (
        "url.gitsrv@localhost:.insteadof git@internal:"
    )


def test_deploy_key_clones_the_private_repository_with_host_key_checking(host):
    result = as_user(
        host, "mlops",
        "rm -rf /tmp/models && GIT_SSH_COMMAND='ssh -o BatchMode=yes -o StrictHostKeyChecking=yes'"
        " git clone -q git-models:models.git /tmp/models && cat /tmp/models/README.md",
    )
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "model card"


def test_deploy_key_file_is_private(host):
    key = host.file("/home/mlops/.ssh/deploy_models")
    assert key.user == "mlops"
    assert key.mode == 0o600
