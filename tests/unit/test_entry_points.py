"""The entry points a newcomer runs first: `make lab` returns and prints the next steps
(it once ran itself again forever), and scripts/prepare-machine.sh says what is wrong.

`make lab` runs for real here, with the programs it calls replaced by recording stand-ins
on PATH (docker, molecule, and make itself: any make started from within is a recursion)."""

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT

STAND_IN = """#!/bin/sh
echo "$(basename "$0") $*" >>"{log}"
{body}
"""
DOCKER = """case "$1 $2" in
  "image inspect") case "$*" in *"-f"*) echo "sha256:0000";; esac; exit 0 ;;
  "save -o") : >"$3"; exit 0 ;;
esac
exit 0"""


def stand_ins(tmp_path, **bodies):
    """A bin/ directory of recording stand-ins; every call is appended to calls.log."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    log.touch()
    for name, body in bodies.items():
        path = bin_dir / name
        path.write_text(STAND_IN.format(log=log, body=body))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return bin_dir, log


def calls(log):
    return log.read_text().splitlines()


def test_next_steps_only_prints(tmp_path):
    bin_dir, log = stand_ins(tmp_path, make="exit 1", docker="exit 1", molecule="exit 1")
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", MLP_LAB_HTTPS_PORT="18443", MLP_LAB_HTTP_PORT="18080")
    result = subprocess.run([ROOT / "lab/next-steps.sh"], env=env, capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert calls(log) == [], "next-steps.sh ran a command instead of printing it"
    assert "https://localhost:18443/" in result.stdout
    assert "http://localhost:18080/health" in result.stdout
    assert "make lab-shell" in result.stdout


def test_make_lab_returns_and_prints_the_next_steps(tmp_path):
    bin_dir, log = stand_ins(tmp_path, make="exit 1", molecule="exit 0", docker=DOCKER, debootstrap="exit 1")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/activate").write_text("# a stand-in virtualenv: PATH stays as it is\n")
    (venv / ".installed").touch()  # newer than requirements.txt: make does not rebuild it
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", MLP_PREPARE="skip", MLP_CACHE_DIR=str(tmp_path / "cache"))
    for inherited in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # when the suite itself runs under make
        env.pop(inherited, None)
    result = subprocess.run([shutil.which("make", path="/usr/bin:/bin"), "--no-print-directory", "lab",
                             f"VENV={venv}"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    made = calls(log)
    assert not [c for c in made if c.startswith("make ")], f"make lab started make again: {made}"
    assert [c for c in made if c.startswith("molecule ")] == ["molecule converge -s lab"]
    assert result.stdout.rstrip().endswith("refreshed by every `make lab`.")
    assert "https://localhost:8443/" in result.stdout


def prepare(os_release_file, user=None, path=None):
    env = dict(os.environ, MLP_OS_RELEASE=str(os_release_file), PATH=path or os.environ["PATH"])
    command = [str(ROOT / "scripts/prepare-machine.sh"), "lab"]
    if user:
        runuser = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin")
        command = [runuser, "-u", user, "--", "env", f"PATH={env['PATH']}", f"MLP_OS_RELEASE={os_release_file}"] + command
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_prepare_refuses_other_systems_with_a_clear_message(tmp_path):
    release = tmp_path / "os-release"
    release.write_text('ID=fedora\nID_LIKE="rhel centos"\n')
    result = prepare(release)
    assert result.returncode != 0
    assert "this machine is 'fedora', not Debian or Ubuntu" in result.stderr
    assert "MLP_PREPARE=skip" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the script as another user")
def test_prepare_asks_for_root_when_it_has_something_to_do():
    # No Docker engine answers (a docker that fails) and no dockerd: only root may fix that.
    # In a directory of its own that the other user can read (pytest's are private).
    shared = Path(tempfile.mkdtemp(prefix="mlp-prepare-"))
    try:
        shared.chmod(0o755)
        bin_dir, _ = stand_ins(shared, docker="exit 1")
        (shared / "calls.log").chmod(0o666)
        release = shared / "os-release"
        release.write_text("ID=debian\n")
        result = prepare(release, user="nobody", path=f"{bin_dir}:/usr/bin:/bin")
    finally:
        shutil.rmtree(shared)
    assert result.returncode != 0
    assert "run as root (or with sudo)" in result.stderr
    assert "docker.io" in result.stderr
