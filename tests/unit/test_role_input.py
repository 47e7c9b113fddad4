"""Input is checked as the roles see it, by one shared check (plugins/action/role_input.py)
that walks each role's meta/argument_specs.yml: one test per kind of bad input, then the
contract every role keeps (it checks first, its rules name real options), then the whole
class through Ansible, for every list and bool option of every role at once."""

import importlib.util
import re

import pytest
import yaml

from conftest import ROOT

SPEC = importlib.util.spec_from_file_location("role_input", ROOT / "plugins/action/role_input.py")
role_input = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(role_input)

ROLES = sorted(p.parent.parent.name for p in ROOT.glob("roles/*/meta/argument_specs.yml"))
RULE_KEYS = {"min", "max", "match", "form", "url", "inside", "timezone", "network", "required", "like"}


def options_of(role, entry_point="main"):
    specs = yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())
    return specs["argument_specs"][entry_point]["options"]


def rules_of(role):
    return yaml.safe_load((ROOT / "roles" / role / "vars/main.yml").read_text())[f"_{role}_input_rules"] or {}


def problems(values, options, rules=None):
    warnings = []
    return role_input.problems_of(values, options, rules or {}, warnings), warnings


# --- Each kind of bad input, on the checker itself --------------------------------------------

LIST = {"type": "list", "elements": "str"}


@pytest.mark.parametrize(
    ("value", "spec", "expected"),
    [
        pytest.param("root", LIST, "expected a list, got a string 'root' (write it as a YAML list",
                     id="string-for-list"),
        pytest.param([{"name": "a", "groups": "dev"}],
                     {"type": "list", "elements": "dict", "options": {"name": {}, "groups": LIST}},
                     "x[0].groups: expected a list, got a string 'dev'", id="string-for-nested-list"),
        pytest.param("False", {"type": "bool"}, "expected true or false (unquoted), got a string 'False'",
                     id="string-for-bool"),
        pytest.param({"a": 1}, {"type": "str"}, "expected a string, got a dict", id="dict-for-string"),
        pytest.param(["a"], {"type": "str"}, "expected a string, got a list", id="list-for-string"),
        pytest.param("A=b", {"type": "dict"}, "expected a dict, got a string", id="string-for-dict"),
        pytest.param("two", {"type": "int"}, "expected an integer, got a string 'two'", id="word-for-int"),
        pytest.param(True, {"type": "int"}, "expected an integer, got a bool", id="bool-for-int"),
        pytest.param(-1, {"type": "int"}, "-1 is out of range (>= 0)", id="negative-size"),
        pytest.param("-5", {"type": "int"}, "-5 is out of range (>= 0)", id="negative-size-as-text"),
        pytest.param("srv/x", {"type": "path"}, "must be an absolute path, got 'srv/x'", id="relative-path"),
        pytest.param("~/x", {"type": "path"}, "must be an absolute path, got '~/x'", id="home-path"),
        pytest.param([["a"]], LIST, "x[0]: expected a string, got a list", id="list-in-list"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused(value, spec, expected):
    lines, _ = problems({"x": value}, {"x": spec})
    assert len(lines) == 1, lines
    assert lines[0].startswith("x"), lines
    assert expected in lines[0]


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [("x_port", 0, False), ("x_port", 1, True), ("x_port", 65535, True), ("x_port", 65536, False),
     ("port", 70000, False), ("x_port", "8080", True), ("x_port", "99999", False),
     ("x_ports_count", 70000, True)],
)
def test_ports_are_checked_by_name(name, value, ok):
    lines, _ = problems({name: value}, {name: {"type": "int"}})
    assert (lines == []) == ok, lines
    if not ok:
        assert f"{name}: {int(value)} is out of range (1-65535)" in lines[0]


def test_a_port_inside_a_list_of_dicts_is_checked_with_its_index():
    spec = {"type": "list", "elements": "dict", "options": {"name": {}, "port": {"type": "int"}}}
    lines, _ = problems({"keys": [{"name": "a", "port": 22}, {"name": "b", "port": 0}]}, {"keys": spec})
    assert lines == ["keys[1].port: 0 is out of range (1-65535)"]


def test_numbers_from_the_command_line_pass_and_are_range_checked_as_numbers():
    options = {"n": {"type": "int"}, "f": {"type": "float"}}
    assert problems({"n": "3", "f": "0.5"}, options)[0] == []
    assert problems({"n": "3", "f": "0.5"}, options, {"n": {"min": 4}})[0] == ["n: 3 is out of range (>= 4)"]


def test_a_number_for_a_string_is_a_warning_not_an_error():
    lines, warnings = problems({"v": 3.1}, {"v": {"type": "str"}})
    assert lines == []
    assert "v: the number 3.1 is used as the string '3.1'" in warnings[0]


def test_a_yes_no_choice_given_as_a_bool_passes_as_ansible_maps_it():
    assert problems({"v": False}, {"v": {"type": "str", "choices": ["no", "yes"]}})[0] == []
    assert problems({"v": False}, {"v": {"type": "str"}})[0] != []


@pytest.mark.parametrize(
    ("value", "rule", "expected"),
    [
        pytest.param("proxy:3128", {"url": ["http", "https"]}, "must be a URL (http://..., https://...)",
                     id="url-without-scheme"),
        pytest.param("ftp://x/y", {"url": ["http", "https"]}, "must be a URL", id="url-wrong-scheme"),
        pytest.param("https://", {"url": ["https"]}, "must be a URL", id="url-without-host"),
        pytest.param("feature x", {"match": "[A-Za-z0-9][A-Za-z0-9._/-]*", "form": "a branch name"},
                     "must be a branch name, got 'feature x'", id="branch-with-space"),
        pytest.param("../x", {"inside": True}, "must be a relative path that stays inside", id="path-escapes"),
        pytest.param("Mars/Base", {"timezone": True}, "is not a time zone name", id="unknown-time-zone"),
        pytest.param("10.0.0.0/33", {"network": True}, "must be an IP address or a network in CIDR form",
                     id="network-prefix-too-long"),
        pytest.param("10.0.0.1/8", {"network": True}, "(host bits set)", id="network-host-bits"),
        pytest.param("example.org", {"network": True}, "network in CIDR form", id="network-a-name"),
        pytest.param("", {"required": True}, "is required (empty)", id="required-empty"),
        pytest.param(5, {"min": 10, "max": 20}, "5 is out of range (10-20)", id="below-a-range"),
    ],
)
def test_a_rule_refuses_a_value_of_the_wrong_form(value, rule, expected):
    spec = {"type": "int" if isinstance(value, int) else "str"}
    lines, _ = problems({"x": value}, {"x": spec}, {"x": rule})
    assert len(lines) == 1 and expected in lines[0], lines


def test_a_shared_form_is_checked_and_a_rule_may_say_it_in_its_own_words():
    lines, _ = problems({"x": "feature x", "y": "feature y"}, {"x": {}, "y": {}},
                        {"x": {"like": "git_ref"}, "y": {"like": "git_ref", "form": "a branch name"}})
    assert lines == ["x: must be a branch, tag or commit (no spaces), got 'feature x'",
                     "y: must be a branch name, got 'feature y'"]


def test_an_empty_value_passes_a_rule_that_does_not_require_it():
    assert problems({"x": ""}, {"x": {}}, {"x": {"url": ["https"], "match": "a+"}})[0] == []


def test_rules_apply_to_each_item_of_a_list():
    lines, _ = problems({"x": ["https://a", "b"]}, {"x": LIST}, {"x": {"url": ["https"]}})
    assert lines == ["x[1]: must be a URL (https://...), got 'b'"]


@pytest.mark.parametrize(
    "value",
    ["http://bob:hunter2@proxy", "bob:hunter2@proxy:3128", "https://hunter2@git.example.com/a b.git",
     "postgresql+psycopg2://u:hunter2@db/hub x"],
)
def test_a_credential_inside_a_url_is_never_shown(value):
    lines, _ = problems({"x": value}, {"x": {}}, {"x": {"match": "[a-z]+", "form": "a name"}})
    assert lines and "hunter2" not in lines[0] and "***@" in lines[0], lines


def test_a_secret_is_never_shown_even_when_it_is_of_the_wrong_kind():
    spec = {"type": "dict", "no_log": True}
    lines, _ = problems({"secret_env": "API_KEY=hunter2"}, {"secret_env": spec})
    assert lines == ["secret_env: expected a dict, got a string (value hidden)"]
    spec = {"type": "list", "elements": "dict", "options": {"key": {"no_log": True, "match": "x"}}}
    lines, _ = problems({"k": [{"key": "hunter2"}]}, {"k": spec}, {"k[].key": {"match": "-----BEGIN.*"}})
    assert lines == ["k[0].key: must be of the form -----BEGIN.*, got (value hidden)"]


def test_only_the_wrong_variables_are_named():
    options = {"a": {"type": "int"}, "b": {"type": "int"}, "c": {"type": "path"}}
    lines, _ = problems({"a": 1, "b": -1, "c": "/ok"}, options)
    assert lines == ["b: -1 is out of range (>= 0)"]


# --- The contract: every role checks first, with rules that name its options ---------------

@pytest.mark.parametrize("role", ROLES)
def test_every_role_checks_its_input_first(role):
    tasks = yaml.safe_load((ROOT / "roles" / role / "tasks/validate.yml").read_text())
    assert tasks[0].get("role_input") == {"rules": f"{{{{ _{role}_input_rules }}}}"}
    main = yaml.safe_load((ROOT / "roles" / role / "tasks/main.yml").read_text())
    assert main[0].get("ansible.builtin.import_tasks") == "validate.yml"


def rule_targets(options, prefix=""):
    """The option names a rule may use: name, and name[].sub for a list's items' options."""
    names = set()
    for name, spec in options.items():
        names.add(prefix + name)
        if "options" in spec:
            inner = f"{prefix}{name}[]." if spec.get("type") == "list" else f"{prefix}{name}."
            names |= rule_targets(spec["options"], inner)
    return names


def entry_points(role):
    specs = yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())
    return list(specs["argument_specs"])


@pytest.mark.parametrize("role", ROLES)
def test_every_rule_names_an_option_and_says_what_it_checks(role):
    # An option of any entry point (role swarm's leave has one of its own).
    targets = set().union(*(rule_targets(options_of(role, entry)) for entry in entry_points(role)))
    for name, rule in rules_of(role).items():
        assert name in targets, f"{role}: rule for unknown option {name}"
        assert set(rule) <= RULE_KEYS and rule, f"{role}: {name}: unknown rule keys {set(rule) - RULE_KEYS}"
        assert rule.get("like", "git_ref") in role_input.FORMS, f"{role}: {name}: no shared form {rule['like']}"
        rule = role_input.effective_rule(name, "str", rule)
        if "match" in rule:
            re.compile(rule["match"])
            assert "form" in rule, f"{role}: {name}: a match needs its form in words"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_default_passes_its_own_check(role):
    """Except an empty default of a required setting (the user must give it)."""
    values = yaml.safe_load((ROOT / "roles" / role / "defaults/main.yml").read_text())
    required = {name for name, rule in rules_of(role).items() if rule.get("required")}
    plain = {k: v for k, v in values.items() if "{{" not in repr(v) and not (k in required and v == "")}
    lines, warnings = problems(plain, options_of(role), rules_of(role))
    assert lines == [] and warnings == []


class AnyTagLoader(yaml.SafeLoader):
    """YAML with !vault and other tags read as plain text."""


AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: "<tagged>")


def project_settings():
    """Every (file, option, value) the project itself sets for a role: group_vars, the
    inventories, the Molecule scenarios and the playbooks (values with a template skipped)."""
    owners = {role: options_of(role) for role in ROLES}
    files = [*ROOT.glob("group_vars/**/*.yml"), *ROOT.glob("inventory/**/*.yml"),
             *ROOT.glob("molecule/**/*.yml"), *ROOT.glob("roles/*/molecule/**/*.yml"),
             *ROOT.glob("playbooks/*.yml")]
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                role = next((r for r in ROLES if isinstance(key, str) and key in owners[r]), None)
                if role and "{{" not in repr(value) and "<tagged>" not in repr(value):
                    found.append((where, role, key, value))
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for path in files:
        for document in yaml.load_all(path.read_text(), Loader=AnyTagLoader):
            walk(document, str(path.relative_to(ROOT)))
    return found


def test_the_project_sets_every_role_option_the_way_the_check_wants():
    settings = project_settings()
    assert len(settings) > 30  # the walk found the project's settings
    bad = []
    for where, role, key, value in settings:
        lines, _ = problems({key: value}, {key: options_of(role)[key]}, rules_of(role))
        bad += [f"{where}: {line}" for line in lines]
    assert bad == []


# --- The whole class through Ansible: every list and bool option of a role, at once ----------

def scalar_lists_and_bools(role):
    options = options_of(role)
    lists = [n for n, s in options.items() if s.get("type") == "list" and s.get("elements", "str") == "str"]
    bools = [n for n, s in options.items() if s.get("type") == "bool"]
    return lists, bools


@pytest.mark.parametrize("role", [r for r in ROLES if any(scalar_lists_and_bools(r))])
def test_every_list_given_a_string_and_every_bool_given_false_in_quotes_is_refused(run_role_validation, role):
    lists, bools = scalar_lists_and_bools(role)
    bad = {name: "root" for name in lists} | {name: "False" for name in bools}
    result = run_role_validation(role, bad)
    assert result.returncode != 0
    assert "Check the variables as the role sees them" in result.stdout, result.stdout
    for name in lists:
        assert f"{name}: expected a list, got a string 'root'" in result.stdout, name
    for name in bools:
        assert f"{name}: expected true or false (unquoted), got a string 'False'" in result.stdout, name


def test_a_credential_in_a_url_is_not_printed_even_verbose(run_role_validation):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq3QrS2kZ3yN0m9Q8wW0l6bqAEXAMPLEKEYFORTESTS0 me@laptop"
    result = run_role_validation("common", {"common_admin_authorized_keys": [key],
                                            "common_proxy_https": "bob:hunter2@proxy.corp:3128"}, "-vvv")
    assert result.returncode != 0
    assert "common_proxy_https: must be a URL (http://..., https://...), got '***@proxy.corp:3128'" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


def test_a_secret_given_as_a_string_is_refused_and_not_printed_even_verbose(run_role_validation):
    result = run_role_validation("model_service", {"model_service_secret_env": "API_KEY=hunter2"}, "-vvv")
    assert result.returncode != 0
    assert "model_service_secret_env: expected a dict, got a string (value hidden)" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr


def test_an_unknown_time_zone_is_refused_before_any_change(run_role_validation):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq3QrS2kZ3yN0m9Q8wW0l6bqAEXAMPLEKEYFORTESTS0 me@laptop"
    result = run_role_validation("common", {"common_admin_authorized_keys": [key], "common_timezone": "Mars/Base"})
    assert result.returncode != 0
    assert "common_timezone: is not a time zone name" in result.stdout
    assert "ok=1 " in result.stdout  # only the argument spec check ran before it
