"""Behaviour of role `data_storage`: one member's files are the group's, outsiders see nothing,
for the DVC store and the git repositories alike."""

import functools

from molecule_helpers import as_user as _as_user

STORE = "/srv/dvc"
REPO = "/srv/git/project.git"
GIT = "git -c user.name=t -c user.email=t@example.org"


# umask 077: what a careless client would create. The store's default ACLs must win.
as_user = functools.partial(_as_user, umask="077")


def test_store_is_group_owned_and_setgid(host):
    store = host.file(STORE)
    assert store.group == "data-researchers"
    assert store.mode == 0o2770


def test_files_pushed_by_one_member_are_writable_by_the_other_group(host):
    assert as_user(host, "alice", f"mkdir -p {STORE}/proj/files/md5/ab && echo v1 > {STORE}/proj/files/md5/ab/cd").rc == 0
    assert as_user(host, "bob", f"cat {STORE}/proj/files/md5/ab/cd").stdout.strip() == "v1"
    assert as_user(host, "bob", f"echo v2 > {STORE}/proj/files/md5/ab/cd").rc == 0
    assert as_user(host, "bob", f"touch {STORE}/proj/files/md5/ab/new").rc == 0
    assert host.file(f"{STORE}/proj/files/md5/ab/new").group == "data-researchers"


def test_outsider_can_neither_list_nor_read(host):
    as_user(host, "alice", f"mkdir -p {STORE}/secret && echo data > {STORE}/secret/f")
    listing = as_user(host, "eve", f"ls {STORE}")
    assert listing.rc != 0
    assert "Permission denied" in listing.stderr
    assert as_user(host, "eve", f"cat {STORE}/secret/f").rc != 0


def test_acls_are_inherited_by_new_directories(host):
    as_user(host, "alice", f"mkdir -p {STORE}/inherit/deep")
    acl = host.run(f"getfacl -p {STORE}/inherit/deep").stdout
    assert "default:group:ml-researchers:rwx" in acl
    assert "default:other::---" in acl


def test_git_repository_is_bare_shared_and_points_at_main(host):
    assert host.file(REPO).group == "data-researchers"
    config = host.run(f"git config --file {REPO}/config --get core.sharedRepository")
    assert config.stdout.strip() == "1"
    assert host.file(f"{REPO}/HEAD").content_string.strip() == "ref: refs/heads/main"


def test_members_of_both_groups_push_to_the_same_repository(host):
    # alice (data-researchers) creates main; bob (ml-researchers) clones it and pushes on top.
    alice = as_user(host, "alice", f"rm -rf /tmp/a && git init -q -b main /tmp/a && cd /tmp/a"
                    f" && echo v1 > f && git add f && {GIT} commit -qm v1 && git push -q {REPO} main")
    assert alice.rc == 0, alice.stderr
    bob = as_user(host, "bob", f"rm -rf /tmp/b && git clone -q {REPO} /tmp/b && cd /tmp/b"
                  f" && echo v2 > f && {GIT} commit -qam v2 && git push -q origin main")
    assert bob.rc == 0, bob.stderr
    log = as_user(host, "alice", f"git --git-dir={REPO} log --format=%s main")
    assert log.stdout.split() == ["v2", "v1"]
    assert host.run(f"find {REPO}/objects -type f ! -group data-researchers").stdout == ""


def test_outsider_cannot_clone_the_repository(host):
    clone = as_user(host, "eve", f"rm -rf /tmp/e && git clone -q {REPO} /tmp/e")
    assert clone.rc != 0
