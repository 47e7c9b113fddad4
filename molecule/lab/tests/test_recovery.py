"""Backups and restores on the lab (issue 21), as its operator runs them from the admin host.

site.yml set up data1's backups to admin1 (group_vars/data.yml: the DVC store and the git
repositories, over SFTP). After the ML loop (the store holds two models, the repository
their commits), in order: a backup lands on admin1 as ciphertext, where only the backup
account reads it, and that account can do nothing but SFTP; a restore drill gives back every
byte; a restore never writes over files unless told to, and in place brings back a lost
file; a damaged repository stops an in-place restore and nothing changes; a password that does
not open the repository stops a restore before it writes; a failed backup is visible (the
playbook's message, the metric), the next good one
clears it; the timer is on; a wrong backup_password stops site.yml before the host's
password file changes. Then EDA (homes and the hub's database copy, beside it and in place:
the hub comes back with its users) and ADMIN (MLflow's and Airflow's PostgreSQL dumps and
MLflow's artifacts, to data1: in place, every run and artifact back after the database was
dropped).
"""

import json
import os

from molecule_helpers import assert_unchanged, failure_report, lab_playbook, lab_shell, task_blocks

PREFIX = os.environ.get("MLP_LAB_PREFIX", "mlp-lab")
testinfra_hosts = [f"ansible://{PREFIX}-admin"]
REPOSITORY = "/srv/backup/data1"  # on admin1, the backup server
DRILL = "/var/tmp/mlp-restore-drill"
METRICS = "/var/lib/prometheus/node-exporter/mlp_backup.prom"


def on_data(host, command, check=True):
    return lab_shell(host, "data1", command, check=check)


def metric(host, name):
    for line in on_data(host, f"cat {METRICS}").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in {METRICS}")


def test_a_backup_lands_on_the_admin_host_encrypted(host):
    result = lab_playbook(host, "backup.yml", "--limit", "data")
    assert result.rc == 0, failure_report(result)
    (shown,) = [block for block in task_blocks(result.stdout) if block.startswith("TASK [backup : Show the snapshots]")]
    assert "/srv/dvc" in shown and "/srv/git" in shown, shown
    repo = host.file(REPOSITORY)
    assert repo.is_directory and repo.user == "mlp-backup" and repo.mode == 0o700
    assert host.file(f"{REPOSITORY}/config").exists and host.file(f"{REPOSITORY}/keys").is_directory
    # Ciphertext only: nothing of the repositories' text (their names, the commit messages).
    assert host.run(f"grep -rlaE 'iris_project|Train iris' {REPOSITORY}").stdout == ""
    assert metric(host, "mlp_backup_last_run_success") == 1


def test_the_backup_account_can_do_nothing_but_sftp(host):
    rc, out = on_data(host, "ssh -i /etc/mlplatform/backup/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes"
                      " -o UserKnownHostsFile=/etc/mlplatform/backup/known_hosts mlp-backup@admin1 id </dev/null",
                      check=False)
    assert "uid=" not in out, out
    # The key is this host's own, readable by root only.
    assert on_data(host, "stat -c '%U %a' /etc/mlplatform/backup/id_ed25519").strip() == "root 600"


def test_a_restore_drill_gives_back_every_byte(host):
    on_data(host, f"rm -rf {DRILL}")
    result = lab_playbook(host, "restore.yml", "--limit", "data1", "-e", f"backup_restore_target={DRILL}")
    assert result.rc == 0, failure_report(result)
    for path in ("/srv/dvc", "/srv/git"):
        rc, out = on_data(host, f"diff -r --no-dereference {path} {DRILL}{path} && echo same", check=False)
        assert rc == 0 and "same" in out, (path, out)
    # Ownership and modes too (the team's group, setgid), and git finds nothing wrong.
    assert on_data(host, "stat -c '%G %a' /srv/dvc") == on_data(host, f"stat -c '%G %a' {DRILL}/srv/dvc")
    assert on_data(host, f"git --git-dir={DRILL}/srv/git/iris_project.git fsck --full 2>&1 && echo fsck-ok").strip().endswith("fsck-ok")


def test_a_restore_never_writes_over_files_unless_told_to(host):
    again = lab_playbook(host, "restore.yml", "--limit", "data1", "-e", f"backup_restore_target={DRILL}")
    assert again.rc != 0 and "a restore would overwrite them" in " ".join(again.stdout.split()), again.stdout[-2000:]
    everywhere = lab_playbook(host, "restore.yml")
    assert everywhere.rc != 0 and "with --limit" in everywhere.stdout, everywhere.stdout[-2000:]
    # A file of the store lost: in place without overwrite is refused, with it the file is back.
    model = on_data(host, "find /srv/dvc/files -type f | head -1").strip()
    digest = on_data(host, f"sha256sum {model}").split()[0]
    on_data(host, f"rm {model}")
    refused = lab_playbook(host, "restore.yml", "--limit", "data1")
    assert refused.rc != 0 and "(in place)" in refused.stdout, refused.stdout[-2000:]
    restored = lab_playbook(host, "restore.yml", "--limit", "data1", "-e", '{"backup_restore_overwrite": true}')
    assert restored.rc == 0, failure_report(restored)
    assert on_data(host, f"sha256sum {model}").split()[0] == digest
    on_data(host, f"rm -rf {DRILL}")


STORE_DIGEST = ("cd / && find srv/dvc srv/git -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum;"
                " find srv/dvc srv/git | wc -l")


def test_a_damaged_repository_stops_an_in_place_restore_and_nothing_changes(host):
    """Every pack of data1's repository on admin1 damaged: an in-place restore with overwrite
    fails naming restic's reason, and the store and the repositories on data1 are as they were
    (the snapshot goes to a staging directory first, which is gone afterwards)."""
    before = on_data(host, STORE_DIGEST)
    assert host.run(f"cp -a {REPOSITORY} {REPOSITORY}.good").rc == 0
    try:
        damage = host.run(f"find {REPOSITORY}/data -type f -exec sh -c"
                          " 'printf XXXXXXXXXXXXXXXX | dd of=\"$1\" bs=1 seek=100 conv=notrunc 2>/dev/null' sh {} \\;")
        assert damage.rc == 0, damage.stderr
        result = lab_playbook(host, "restore.yml", "--limit", "data1", "-e", '{"backup_restore_overwrite": true}')
        out = " ".join(result.stdout.split())
        assert result.rc != 0 and "restic could not restore snapshot" in out, result.stdout[-3000:]
        assert "Nothing was changed in /srv/dvc, /srv/git" in out, result.stdout[-3000:]
    finally:
        host.run(f"rm -rf {REPOSITORY} && mv {REPOSITORY}.good {REPOSITORY}")
    assert on_data(host, STORE_DIGEST) == before
    rc, _ = on_data(host, "test -e /var/tmp/mlp-restore-staging", check=False)
    assert rc != 0


def test_a_password_that_does_not_open_the_repository_stops_a_restore(host):
    """data1's password file replaced (as on a fresh host given the wrong backup_password): the
    restore stops with restic's reason before it writes anything, and never prints the password."""
    on_data(host, "cp -a /etc/mlplatform/backup/password /etc/mlplatform/backup/password.good"
                  " && printf 'not-the-password-5b2d' > /etc/mlplatform/backup/password")
    try:
        on_data(host, f"rm -rf {DRILL}")
        result = lab_playbook(host, "restore.yml", "--limit", "data1", "-e", f"backup_restore_target={DRILL}")
    finally:
        on_data(host, "mv /etc/mlplatform/backup/password.good /etc/mlplatform/backup/password")
    out = " ".join(result.stdout.split())
    assert result.rc != 0 and "restic could not read the repository of data1" in out, result.stdout[-3000:]
    assert "wrong password" in out and "Nothing was restored" in out, result.stdout[-3000:]
    assert "not-the-password-5b2d" not in result.stdout + result.stderr
    rc, _ = on_data(host, f"test -e {DRILL}", check=False)
    assert rc != 0


def test_a_failed_backup_is_visible_and_the_next_good_one_clears_it(host):
    last_success = metric(host, "mlp_backup_last_success_timestamp_seconds")
    host.run(f"mv {REPOSITORY} {REPOSITORY}.away")
    try:
        failed = lab_playbook(host, "backup.yml", "--limit", "data")
    finally:
        host.run(f"mv {REPOSITORY}.away {REPOSITORY}")
    assert failed.rc != 0 and "The backup of data1 failed" in failed.stdout, failed.stdout[-2000:]
    assert "mlp-backup: restic backup failed" in failed.stdout
    assert metric(host, "mlp_backup_last_run_success") == 0
    assert metric(host, "mlp_backup_last_success_timestamp_seconds") == last_success
    good = lab_playbook(host, "backup.yml", "--limit", "data")
    assert good.rc == 0, failure_report(good)
    assert metric(host, "mlp_backup_last_run_success") == 1
    assert metric(host, "mlp_backup_last_success_timestamp_seconds") > last_success


def test_the_backup_timer_is_on_with_a_next_run(host):
    out = on_data(host, "systemctl is-enabled mlp-backup.timer; systemctl show mlp-backup.timer"
                  " --property=NextElapseUSecRealtime --value")
    enabled, next_run = out.strip().split("\n")
    assert enabled == "enabled" and next_run.strip(), out


def test_a_wrong_password_stops_the_role_and_the_host_keeps_the_right_one(host):
    before = on_data(host, "sha256sum /etc/mlplatform/backup/password").split()[0]
    wrong = lab_playbook(host, "site.yml", "--limit", "data1", "--tags", "backup", "-e", "backup_password=not-the-password-9c1e")
    out = " ".join(wrong.stdout.split())
    assert wrong.rc != 0 and "exists but cannot be read" in out and "wrong password" in out, wrong.stdout[-2000:]
    assert "not-the-password-9c1e" not in wrong.stdout + wrong.stderr
    assert on_data(host, "sha256sum /etc/mlplatform/backup/password").split()[0] == before
    good = lab_playbook(host, "backup.yml", "--limit", "data")
    assert good.rc == 0, failure_report(good)


EDA_DRILL = "/var/tmp/mlp-restore-drill-eda"
HUB_STATE = "/var/lib/jupyterhub"
HUB_TABLES = ("SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table'"
              " ORDER BY name); SELECT version_num FROM alembic_version; PRAGMA integrity_check")


def hub_db(host, path):
    """The tables, schema version and integrity of a hub database on eda1 (read-only)."""
    script = ("import sqlite3, sys; db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True);"
              " [print(db.execute(q).fetchone()[0]) for q in sys.argv[2].split('; ')]")
    return lab_shell(host, "eda1", f"python3 -c \"{script}\" {path} \"{HUB_TABLES}\"").split("\n")[:3]


def test_eda_homes_and_the_hubs_database_restore_from_a_backup_taken_while_it_runs(host):
    """EDA's backup (group_vars/eda.yml): the team's homes and the hub's state, with the
    database as the pre-command's online copy while the hub runs, the live file left out."""
    lab_shell(host, "eda1", "printf 'notes of alice\\n' > /home/alice/notes.txt && chown alice: /home/alice/notes.txt"
              " && systemctl is-active jupyterhub")
    result = lab_playbook(host, "backup.yml", "--limit", "eda")
    assert result.rc == 0, failure_report(result)
    assert "mlp-backup: an online copy of the hub's database" in lab_shell(
        host, "eda1", "journalctl -u mlp-backup.service --no-pager -o cat -n 200")
    lab_shell(host, "eda1", f"rm -rf {EDA_DRILL}")
    restored = lab_playbook(host, "restore.yml", "--limit", "eda1", "-e", f"backup_restore_target={EDA_DRILL}")
    assert restored.rc == 0, failure_report(restored)
    rc, out = lab_shell(host, "eda1", f"diff -r --no-dereference /home/alice {EDA_DRILL}/home/alice && echo same"
                        f" && stat -c '%U %a' {EDA_DRILL}/home/alice/notes.txt", check=False)
    assert rc == 0 and out.split("\n")[:2] == ["same", "alice 644"], out
    # The live database is not in the snapshot; its copy is, whole, with the hub's tables.
    rc, _ = lab_shell(host, "eda1", f"test -e {EDA_DRILL}{HUB_STATE}/jupyterhub.sqlite", check=False)
    assert rc != 0
    tables, version, integrity = hub_db(host, f"{EDA_DRILL}{HUB_STATE}/jupyterhub.backup.sqlite")
    assert integrity == "ok" and {"users", "servers", "api_tokens"} <= set(tables.split()), tables
    assert [tables, version] == hub_db(host, f"{HUB_STATE}/jupyterhub.sqlite")[:2]
    lab_shell(host, "eda1", f"rm -rf {EDA_DRILL}")


HUB_LOGIN = (
    "jar=$(mktemp) && curl -sS --cacert /tmp/eda-hub.pem -c $jar -b $jar -o /dev/null https://eda1/hub/login"
    " && curl -sS --cacert /tmp/eda-hub.pem -c $jar -b $jar -o /dev/null -w '%{{http_code}} %{{redirect_url}}'"
    " --data-urlencode username=alice --data-urlencode password={password}"
    " --data-urlencode _xsrf=$(awk '$6 == \"_xsrf\" {{ print $7 }}' $jar) https://eda1/hub/login; rm -f $jar")


def answers(host, curl, seconds=120):
    """Poll a curl command on admin1 until it succeeds (a service started a moment ago)."""
    result = host.run(f"for i in $(seq {seconds // 2}); do {curl} && exit 0; sleep 2; done; exit 1")
    assert result.rc == 0, (curl, result.stdout[-1000:], result.stderr[-1000:])
    return result.stdout


HUB_UP = "curl -sf --cacert /tmp/eda-hub.pem -o /dev/null https://eda1/hub/login"


def hub_user(host, name):
    """alice's row in the live hub database on eda1: her name and when the hub created her."""
    script = ("import sqlite3, sys; db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True);"
              " print(db.execute('SELECT name, created FROM users WHERE name = ?', (sys.argv[2],)).fetchone())")
    return lab_shell(host, "eda1", f"python3 -c \"{script}\" {HUB_STATE}/jupyterhub.sqlite {name}").strip()


def test_the_hub_comes_back_in_place_with_its_users_and_their_files(host):
    """alice logs in through the hub's form (a password set for the test: the lab's team has
    none), EDA is backed up while the hub runs, then the hub's database and her file are lost.
    An in-place restore (group_vars/eda.yml: the hub stopped, its database put back from the
    online copy, started again) gives back the hub as it was: her account with its creation
    time, her file, and she logs in again."""
    password = f"Lab-{os.getpid()}-drill"
    host.run("echo | openssl s_client -connect eda1:443 -servername eda1 2>/dev/null | openssl x509 > /tmp/eda-hub.pem")
    lab_shell(host, "eda1", f"getent shadow alice | cut -d: -f1,2 > /root/alice.shadow && echo alice:{password} | chpasswd")
    try:
        first = host.run(HUB_LOGIN.format(password=password))
        assert first.rc == 0 and first.stdout.startswith("302 "), (first.stdout, first.stderr)
        before = hub_user(host, "alice")
        assert before.startswith("('alice', "), before
        lab_shell(host, "eda1", "printf 'draft of alice\\n' > /home/alice/draft.txt && chown alice: /home/alice/draft.txt")
        backup = lab_playbook(host, "backup.yml", "--limit", "eda")
        assert backup.rc == 0, failure_report(backup)
        # Lost: her file, and the hub's database (the hub starts again on an empty one).
        lab_shell(host, "eda1", f"rm /home/alice/draft.txt && systemctl stop jupyterhub && rm -f {HUB_STATE}/jupyterhub.sqlite*"
                  " && systemctl start jupyterhub")
        answers(host, HUB_UP)  # (the hub made its new database by then)
        assert hub_user(host, "alice") == "None"
        restored = lab_playbook(host, "restore.yml", "--limit", "eda1", "-e", '{"backup_restore_overwrite": true}')
        assert restored.rc == 0, failure_report(restored)
        assert "the hub's database back from its online copy" in restored.stdout
        answers(host, HUB_UP)
        assert hub_user(host, "alice") == before
        assert lab_shell(host, "eda1", "systemctl is-active jupyterhub && stat -c '%U' /home/alice/draft.txt"
                         " && cat /home/alice/draft.txt").split() == ["active", "alice", "draft", "of", "alice"]
        again = host.run(HUB_LOGIN.format(password=password))
        assert again.rc == 0 and again.stdout.startswith("302 "), (again.stdout, again.stderr)
    finally:
        lab_shell(host, "eda1", "chpasswd -e < /root/alice.shadow && rm -f /root/alice.shadow /home/alice/draft.txt")


ADMIN_REPOSITORY = "/srv/backup/admin1"  # on data1
MLFLOW_RUNS = "runuser -u postgres -- psql -At -d mlflow -c 'SELECT run_uuid, status FROM runs ORDER BY 1'"
AIRFLOW_RUNS = "runuser -u postgres -- psql -At -d airflow -c 'SELECT count(*) FROM dag_run'"
ARTIFACTS_DIGEST = ("cd /var/lib/mlflow/artifacts && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum;"
                    " find . -type f | wc -l")


def test_admin_backs_up_mlflow_and_airflow_to_data_not_to_itself(host):
    """group_vars/admin.yml: MLflow's artifacts and PostgreSQL's dumps (pg_dump while the
    services run) go to data1, where the backup account can do nothing but SFTP."""
    result = lab_playbook(host, "backup.yml", "--limit", "admin")
    assert result.rc == 0, failure_report(result)
    (shown,) = [block for block in task_blocks(result.stdout) if block.startswith("TASK [backup : Show the snapshots]")]
    assert "/var/lib/mlflow/artifacts" in shown and "/var/backups/postgresql" in shown, shown
    assert lab_shell(host, "data1", f"stat -c '%U %a' {ADMIN_REPOSITORY}").strip() == "mlp-backup 700"
    assert not host.file(ADMIN_REPOSITORY).exists
    assert host.run("ls /var/backups/postgresql").stdout.split() == ["airflow.dump", "mlflow.dump", "mlflow_auth.dump"]
    denied = host.run("ssh -i /etc/mlplatform/backup/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes"
                      " -o UserKnownHostsFile=/etc/mlplatform/backup/known_hosts mlp-backup@data1 id </dev/null")
    assert "uid=" not in denied.stdout, denied.stdout


def test_mlflow_and_airflow_come_back_in_place_from_the_backup(host):
    """MLflow's database dropped and an artifact lost while it runs: an in-place restore
    (MLflow and Airflow stopped, the dumps loaded back, started again) gives back every run,
    every artifact byte, Airflow's DAG runs, and MLflow answers alice again."""
    runs, dag_runs, artifacts = (host.check_output(MLFLOW_RUNS), host.check_output(AIRFLOW_RUNS),
                                 host.check_output(ARTIFACTS_DIGEST))
    assert runs and int(dag_runs) > 0 and artifacts.split()[-1] != "0", (runs, dag_runs, artifacts)
    lost = host.run("runuser -u postgres -- psql -c 'DROP DATABASE mlflow WITH (FORCE)'"
                    " && rm \"$(find /var/lib/mlflow/artifacts -type f | sort | head -1)\"")
    assert lost.rc == 0, lost.stderr
    restored = lab_playbook(host, "restore.yml", "--limit", "admin1", "-e", '{"backup_restore_overwrite": true}')
    assert restored.rc == 0, failure_report(restored)
    assert (host.check_output(MLFLOW_RUNS), host.check_output(AIRFLOW_RUNS), host.check_output(ARTIFACTS_DIGEST)) \
        == (runs, dag_runs, artifacts)
    for unit in ("mlflow", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor"):
        assert host.service(unit).is_running, unit
    password = host.file("/home/debian/.config/mlplatform/lab-mlflow-alice-password").content_string.strip()
    lab_shell(host, "ml1", "echo | openssl s_client -connect admin1:443 -servername admin1 2>/dev/null"
                     " | openssl x509 > /tmp/admin-mlflow.pem")
    first_run = runs.split("\n")[0].split("|")[0]
    # (from ml1 through admin1's firewall, once MLflow serves again: it takes a few seconds)
    found = lab_shell(host, "ml1", f"for i in $(seq 60); do curl -sf --cacert /tmp/admin-mlflow.pem -u alice:{password}"
                             f" 'https://admin1/api/2.0/mlflow/runs/get?run_id={first_run}' && exit 0; sleep 2; done; exit 1")
    assert json.loads(found)["run"]["info"]["run_id"] == first_run, found


def snapshot_ids(host, target):
    return [snapshot["short_id"] for snapshot in json.loads(lab_shell(host, target, "mlp-restic snapshots --json 2>/dev/null"))]


def test_uninstall_takes_the_backups_off_a_host_and_a_reinstall_backs_up_into_the_same_repository(host):
    """decommission.yml --tags backup on eda1: its timer, scripts, restic, settings and its
    key's authorization on admin1 go, its repository there and data1's access stay; a second
    run changes nothing; site.yml sets it up again and the next backup joins the old ones."""
    before = snapshot_ids(host, "eda1")
    # (the keys as authorized on admin1: type and key, without their comment)
    eda_key, data_key = (lab_shell(host, name, "cut -d' ' -f2 /etc/mlplatform/backup/id_ed25519.pub").strip()
                         for name in ("eda1", "data1"))
    removed = lab_playbook(host, "decommission.yml", "--limit", "eda1", "--tags", "backup", "-e", "skip_confirmation=true")
    assert removed.rc == 0, failure_report(removed)
    gone = lab_shell(host, "eda1", "! systemctl cat mlp-backup.timer >/dev/null 2>&1 && ! command -v restic"
                     " && test ! -e /usr/local/sbin/mlp-restic && test ! -e /usr/local/sbin/mlp-backup"
                     " && test ! -e /etc/mlplatform/backup && test ! -e /var/cache/restic"
                     f" && test ! -e {METRICS} && echo gone")
    assert gone.strip() == "gone", gone
    keys = host.file("/srv/backup/.ssh/authorized_keys").content_string
    assert eda_key not in keys and data_key in keys, keys
    assert host.file("/srv/backup/eda1/config").exists
    assert_unchanged(lab_playbook(host, "decommission.yml", "--limit", "eda1", "--tags", "backup",
                                  "-e", "skip_confirmation=true"))
    again = lab_playbook(host, "site.yml", "--limit", "eda1", "--tags", "backup")
    assert again.rc == 0, failure_report(again)
    backup = lab_playbook(host, "backup.yml", "--limit", "eda")
    assert backup.rc == 0, failure_report(backup)
    after = snapshot_ids(host, "eda1")
    assert before[-1] in after and after[-1] not in before, (before, after)
