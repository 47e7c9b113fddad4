"""Behaviour of role `git` (see molecule.yml's inventory and prepare.yml), and its uninstall
through playbooks/decommission.yml (the last test)."""

import os
from pathlib import Path

from molecule_helpers import ROOT, as_user, assert_unchanged, recap, run_playbook

SCENARIO = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
DECOMMISSION = ROOT / "playbooks" / "decommission.yml"
CONFIRMED = ("--tags", "git", "-e", "skip_confirmation=true")
CLONE = ("rm -rf /tmp/models && GIT_SSH_COMMAND='ssh -o BatchMode=yes -o StrictHostKeyChecking=yes'"
         " git clone -q git-models:models.git /tmp/models && cat /tmp/models/README.md")


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
    result = as_user(host, "mlops", CLONE)
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "model card"


def test_deploy_key_file_is_private(host):
    key = host.file("/home/mlops/.ssh/deploy_models")
    assert key.user == "mlops"
    assert key.mode == 0o600


def test_decommission_removes_settings_and_deploy_keys_keeps_git_and_a_reinstall_clones_again(host):
    """--check changes nothing; the real run takes the deploy key, its SSH alias, the host's
    key in known_hosts, /etc/gitconfig and git-lfs away, and leaves git and the users' own
    settings; a second run changes nothing; the role sets it all up again."""
    as_user(host, "mlops", "printf 'Host mine\\n  HostName example.org\\n' >> ~/.ssh/config")
    dry = run_playbook(DECOMMISSION, *CONFIRMED, "--check")
    assert sum(host_recap["changed"] for host_recap in recap(dry.stdout).values()) > 0
    assert host.file("/home/mlops/.ssh/deploy_models").exists and host.file("/etc/gitconfig").exists

    run_playbook(DECOMMISSION, *CONFIRMED)
    assert not host.file("/home/mlops/.ssh/deploy_models").exists
    config = host.file("/home/mlops/.ssh/config").content_string
    assert "git-models" not in config and "Host mine" in config, config
    assert host.run("ssh-keygen -F localhost -f /home/mlops/.ssh/known_hosts").rc != 0
    assert not host.file("/etc/gitconfig").exists
    assert not host.package("git-lfs").is_installed
    assert as_user(host, "mlops", CLONE).rc != 0
    result = as_user(host, "alice", "rm -rf /tmp/b && git init -q /tmp/b && git -C /tmp/b status --short")
    assert result.rc == 0, result.stderr
    again = run_playbook(DECOMMISSION, *CONFIRMED)
    assert_unchanged(again)

    run_playbook(SCENARIO / "converge.yml")
    result = as_user(host, "mlops", CLONE)
    assert result.rc == 0 and result.stdout.strip() == "model card", result.stderr
