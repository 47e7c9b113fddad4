"""Behaviour of role `data_storage`: one member's files are the group's, outsiders see nothing."""

import shlex

STORE = "/srv/dvc"


def as_user(host, user, command):
    # umask 077: what a careless client would create. The store's default ACLs must win.
    return host.run(f"runuser -u {user} -- sh -c {shlex.quote('umask 077; ' + command)}")


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
