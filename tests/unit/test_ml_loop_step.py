"""Role airflow's step runner (files/usr/local/lib/airflow/ml-loop-step), which Airflow's
tasks run as the operator through sudo: it takes nothing from its caller but a step name and
a revision that looks like one, puts the revision where the inventory's command says
({revision}, ML_LOOP_REVISION), and reports train's revision last."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT

RUNNER = ROOT / "roles/airflow/files/usr/local/lib/airflow/ml-loop-step"


def run(tmp_path, steps, *args):
    """The runner with its configuration in tmp_path (instead of /etc/airflow/ml_loop.json)."""
    config = tmp_path / "ml_loop.json"
    config.write_text(json.dumps({"workdir": str(tmp_path), "environment": {"LOOP_SITE": "lab"},
                                  "steps": steps}))
    code = ("import runpy, sys; sys.argv = ['ml-loop-step', *sys.argv[1:]]; "
            f"module = runpy.run_path({str(RUNNER)!r}, run_name='ml_loop_step'); "
            f"module['main'].__globals__['CONFIG'] = {str(config)!r}; "
            "module['main'](sys.argv)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd="/", check=False)


ECHO = ["sh", "-c", 'echo "args=$0 env=$ML_LOOP_REVISION site=$LOOP_SITE pwd=$(pwd)"']


def test_the_revision_goes_where_the_command_says_and_in_the_environment(tmp_path):
    result = run(tmp_path, {"gate": [*ECHO[:2], ECHO[2], "{revision}"]}, "gate", "0123abc")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"args=0123abc env=0123abc site=lab pwd={tmp_path}"


@pytest.mark.parametrize("revision", ["", "x; rm -rf /", "$(id)", "-e", "a b", "../../etc/passwd", "a" * 200])
def test_anything_but_a_revision_is_refused_before_a_command_runs(tmp_path, revision):
    marker = tmp_path / "ran"
    result = run(tmp_path, {"deploy": ["touch", str(marker)]}, "deploy", revision)
    assert result.returncode != 0
    assert "not a git revision" in result.stderr
    assert not marker.exists()


@pytest.mark.parametrize("args", [[], ["build"], ["train", "abc1234", "more"]])
def test_an_unknown_step_or_extra_arguments_are_refused(tmp_path, args):
    result = run(tmp_path, {"train": ["true"]}, *args)
    assert result.returncode != 0 and "usage: ml-loop-step" in result.stderr


def test_train_reports_the_revision_its_command_wrote_last(tmp_path):
    steps = {"train": ["sh", "-c", 'echo training; echo 89abcdef0123 > "$ML_LOOP_REVISION_FILE"; echo done']}
    result = run(tmp_path, steps, "train")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["training", "done", "89abcdef0123"]


def test_train_without_a_revision_file_reports_its_last_line_or_fails(tmp_path):
    assert run(tmp_path, {"train": ["sh", "-c", "echo x; echo abc1234"]}, "train").stdout.splitlines()[-1] == "abc1234"
    nothing = run(tmp_path, {"train": ["sh", "-c", "echo 'PLAY RECAP ok=3'"]}, "train")
    assert nothing.returncode != 0 and "reported no revision" in nothing.stderr


def test_a_failed_train_fails_with_its_status(tmp_path):
    result = run(tmp_path, {"train": ["sh", "-c", "exit 3"]}, "train")
    assert result.returncode == 3
