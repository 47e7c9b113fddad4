"""Every role's interface has one source, meta/argument_specs.yml: the defaults, the README
and the variable names must agree with it."""

import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml"))


def main_options(role):
    specs = yaml.safe_load((role / "meta/argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"]


def defaults(role):
    return yaml.safe_load((role / "defaults/main.yml").read_text()) or {}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_default_is_specified_and_every_option_has_a_default(role):
    assert set(defaults(role)) == set(main_options(role))


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_spec_defaults_match_the_defaults_file(role):
    spec, values = main_options(role), defaults(role)
    for name, option in spec.items():
        if "default" in option:
            assert values[name] == option["default"], name
        else:
            # No literal default in the spec: the defaults file derives it from another variable.
            assert "{{" in str(values[name]), name


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_public_variables_carry_the_role_prefix(role):
    for name in main_options(role):
        assert name.startswith(f"{role.name}_"), name


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_internal_variables_carry_the_private_prefix(role):
    internal = yaml.safe_load((role / "vars/main.yml").read_text()) or {}
    for name in internal:
        assert name.startswith(f"_{role.name}_"), name


def test_readmes_show_the_current_argument_specs():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/argspec_doc.py"), "--check", *map(str, ROLES)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
