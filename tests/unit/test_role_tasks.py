"""Conventions of the roles' tasks that no linter checks."""

import pytest
import yaml

from conftest import ROOT

TASK_FILES = sorted(ROOT.glob("roles/*/tasks/*.yml"))


def tasks(path):
    """Every task of a task file, those inside blocks too."""
    found = []

    def walk(items):
        for item in items or []:
            if not isinstance(item, dict):
                continue
            found.append(item)
            for key in ("block", "rescue", "always"):
                walk(item.get(key))

    walk(yaml.safe_load(path.read_text()))
    return found


def package_installs(path):
    return [task for task in tasks(path)
            if isinstance(task.get("ansible.builtin.apt"), dict)
            and task["ansible.builtin.apt"].get("state", "present") == "present"
            and task["ansible.builtin.apt"].get("name")]


@pytest.mark.parametrize("path", [p for p in TASK_FILES if package_installs(p)],
                         ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_every_package_install_tries_again_later(path):
    """A Debian mirror in the middle of its update serves lists that do not match for a few
    minutes: an install waits and tries again, on the result it registers."""
    for task in package_installs(path):
        register = task.get("register", "")
        assert register.startswith("_"), (task["name"], "registers no result to retry on")
        assert task.get("until") == f"{register} is succeeded", task["name"]
        assert int(task.get("retries", 0)) >= 3 and int(task.get("delay", 0)) >= 10, task["name"]


def test_the_check_finds_the_package_installs():
    """The test above has something to check: the base packages of role common among them."""
    names = [task["name"] for path in TASK_FILES for task in package_installs(path)]
    assert "Install the base packages" in names and len(names) >= 14, names
