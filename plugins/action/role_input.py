"""Check a role's input as the role will see it, against its meta/argument_specs.yml."""

from __future__ import annotations

DOCUMENTATION = """
    name: role_input
    short_description: Check a role's variables as the role sees them, before anything changes
    description:
        - Ansible's role argument check converts a value to the declared type for the check
          only; the role still sees what was written. A string where a list is expected passes
          (and is then used character by character), as do the string "False" for a bool, a
          dict for a string, or "k=v" for a dict. This action checks the values themselves,
          walking the role's own C(meta/argument_specs.yml) (the single source of types),
          nested options and list elements included.
        - It also checks the forms the argument spec cannot say, from the role's rules
          (a static table in the role's vars/) and these defaults (an int or float is not
          negative; an option whose name ends in C(port) is 1-65535; a C(path) is absolute).
        - The message names each wrong variable (with its index in a list) and what is wrong
          with it, and nothing else. It never shows the value of a C(no_log) option, nor the
          password or token inside a URL.
        - It runs on the controller (no connection, no module on the host) and changes nothing.
    options:
      entry_point:
        description: The entry point of the calling role's argument spec (by default the one
          the role was called with, C(main) or its C(tasks_from)).
      rules:
        description:
          - Per option (C(name), or C(name[].sub) for an option of a list's items), a dict of
            C(min), C(max), C(match) (a regular expression the whole value must match) with
            C(form) (the expected form, in words), C(url) (the URL schemes allowed),
            C(inside) (a relative path that stays inside its directory), C(timezone) (an IANA
            time zone name known to the controller), C(network) (an IPv4 or IPv6 address, or a
            network in CIDR form without host bits), C(like) (one of the forms several roles
            share, below; the rule's own keys win). For a list of strings, the rules apply to
            each item. An empty string passes every rule unless C(required) is true.
          - "Shared forms: C(git_remote), C(git_ref), C(size) (a Docker log size such as 10m),
            C(absolute_path), C(owned_dir) (a directory a role may remove: below a top-level
            one)."
        type: dict
        default: {}
"""

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path

from ansible.errors import AnsibleError
from ansible.module_utils.common.yaml import yaml_load
from ansible.plugins.action import ActionBase

PORT_NAME = re.compile(r"(^|_)port$")
URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<rest>[^\s]*)$")
# user:password@ or token@ after a scheme, and user:password@ without one (proxy.corp:3128
# written as bob:secret@proxy.corp:3128, scp-like git remotes keep their user@).
URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*:/+)[^/@\s]*@|(?P<bare>^|[\s'\"])[^/@\s:'\"]+:[^/@\s]*@", re.IGNORECASE)
HIDDEN = "(value hidden)"

# Forms several roles share, named in a rule as `like: NAME`.
FORMS = {
    "git_remote": {
        "match": r"(?:(?:ssh|https?|git|file)://\S+|(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9._-]+:\S+|/\S*)",
        "form": "a git remote (ssh://, https://, user@host:path, or an absolute path)",
    },
    "git_ref": {"match": r"[A-Za-z0-9][A-Za-z0-9._/-]*", "form": "a branch, tag or commit (no spaces)"},
    "size": {"match": r"[0-9]+[kmg]", "form": "a size: digits and k, m or g (10m)"},
    "absolute_path": {"match": r"/.*", "form": "empty or an absolute path"},
    # A directory the role owns (an uninstall may remove it): never / or a top-level one.
    "owned_dir": {"match": r"(/(?!\.\.?(/|$))[^/]+){2,}/?",
                  "form": "an absolute path below a top-level directory (/opt/NAME), no . or .. parts"},
}


def effective_rule(key, declared, rule):
    """An option's rule as checked: its shared form (like), its own keys over it, and the
    defaults of its type (an int or float not negative, a *port 1-65535)."""
    rule = {**(FORMS[rule["like"]] if "like" in rule else {}), **rule}
    if declared in ("int", "float"):
        if PORT_NAME.search(key.split(".")[-1]):
            rule = {"min": 1, "max": 65535, **rule}
        rule = {"min": 0, **rule}
    return rule


def redact(text):
    """The text with any user:password@ of a URL replaced by ***@."""
    return URL_CREDENTIALS.sub(lambda m: (m.group("scheme") or m.group("bare") or "") + "***@", text)


def shown(value, secret):
    """How a value appears in a message: never a secret, never a URL's credentials."""
    if secret:
        return HIDDEN
    text = value if isinstance(value, str) else repr(value)
    text = redact(text)
    return repr(text[:57] + "..." if len(text) > 60 else text) if isinstance(value, str) else text


def kind(value):
    """A value's type in words, for the messages."""
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a dict"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


INT_TEXT = re.compile(r"[+-]?[0-9]+")
FLOAT_TEXT = re.compile(r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)")


def as_number(declared, value):
    """An int/float option's value as a number: a number, or the text of one (-e NAME=3 on the
    command line gives the string "3", which the roles compare with | int). None otherwise."""
    if isinstance(value, bool):
        return None
    if declared == "int":
        if isinstance(value, int):
            return value
        return int(value) if isinstance(value, str) and INT_TEXT.fullmatch(value.strip()) else None
    if isinstance(value, (int, float)):
        return value
    return float(value) if isinstance(value, str) and FLOAT_TEXT.fullmatch(value.strip()) else None


EXPECTED = {
    "str": "a string",
    "path": "a string (a path)",
    "bool": "true or false (unquoted)",
    "int": "an integer",
    "float": "a number",
    "list": "a list",
    "dict": "a dict",
}

HINTS = {
    ("list", "a string"): " (write it as a YAML list, even of one item: [item])",
    ("bool", "a string"): (" (a quoted 'false' is a non-empty string, which counts as true; on the"
                           " command line: -e '{\"NAME\": false}')"),
}


def rule_problems(name, value, rule):
    """What is wrong with a scalar value by the role's rule for it (a list of strings)."""
    problems = []
    if value == "" and not rule.get("required"):
        return problems
    if value == "" and rule.get("required"):
        return ["is required (empty)"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = rule.get("min"), rule.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low}-{high}" if low is not None and high is not None else (
                f">= {low}" if low is not None else f"<= {high}")
            problems.append(f"{value} is out of range ({bounds})")
    if not isinstance(value, str):
        return problems
    if "match" in rule and not re.fullmatch(rule["match"], value):
        problems.append(f"must be {rule.get('form', 'of the form ' + rule['match'])}")
    if "url" in rule:
        found = URL.match(value)
        if not found or found.group("scheme") not in rule["url"] or not found.group("rest"):
            problems.append("must be a URL (" + ", ".join(f"{s}://..." for s in rule["url"]) + ")")
    if rule.get("inside") and (value.startswith("/") or ".." in value.split("/")):
        problems.append("must be a relative path that stays inside its directory (no leading '/', no '..')")
    if rule.get("network"):
        try:
            ipaddress.ip_network(value)
        except ValueError as error:
            reason = " (host bits set)" if "host bits" in str(error) else ""
            problems.append("must be an IP address or a network in CIDR form (192.0.2.7, 10.0.0.0/8,"
                            f" 2001:db8::/32){reason}")
    if rule.get("timezone"):
        try:
            import zoneinfo  # noqa: PLC0415 - only where a rule asks for it
            zones = zoneinfo.available_timezones()
        except ImportError:  # pragma: no cover - Python < 3.9
            zones = set()
        if zones and value not in zones:
            problems.append("is not a time zone name (such as Etc/UTC or Europe/Paris; see timedatectl list-timezones)")
    return problems


def check(name, value, spec, rules, warnings, secret=False, rule_key=None):
    """Problems of one value by its option spec, recursively: a list of 'name: problem' lines
    (and notes that are not errors appended to warnings)."""
    if value is None:
        return []
    rule_key = rule_key or name
    secret = secret or bool(spec.get("no_log"))
    declared = spec.get("type", "str")
    lines = []
    if declared in EXPECTED:
        fits = {
            # a bool where the choices say yes/no: Ansible's own check maps it to the choice
            "str": isinstance(value, str) or (isinstance(value, bool) and "choices" in spec),
            "path": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int": as_number("int", value) is not None,
            "float": as_number("float", value) is not None,
            "list": isinstance(value, (list, tuple)),
            "dict": isinstance(value, Mapping),
        }[declared]
        if declared in ("str", "path") and isinstance(value, (int, float)) and not isinstance(value, bool):
            warnings.append(f"{name}: the number {value} is used as the string '{value}' (quote it if you"
                            " meant otherwise: YAML reads 3.10 as 3.1, 010 as 8)")
            fits, value = True, str(value)
        if not fits:
            got = kind(value)
            hint = HINTS.get((declared, got), "").replace("NAME", name.split("[")[0])
            detail = "" if got in ("a dict", "a list") else f" {shown(value, secret)}"
            return [f"{name}: expected {EXPECTED[declared]}, got {got}{detail}{hint}"]
        if declared in ("int", "float"):
            value = as_number(declared, value)
    rule = effective_rule(rule_key, declared, rules.get(rule_key, {}))
    if declared == "path" and value != "" and not value.startswith("/"):
        lines.append(f"{name}: must be an absolute path, got {shown(value, secret)}")
    if declared in ("str", "path", "int", "float"):
        for problem in rule_problems(name, value, rule):
            got = "" if "out of range" in problem else f", got {shown(value, secret)}"
            lines.append(f"{name}: {problem}{got}")
    elif declared == "list":
        element = {"type": spec.get("elements", "raw"), "no_log": secret}
        if "options" in spec:
            element["options"] = spec["options"]
        for index, item in enumerate(value):
            lines += check(f"{name}[{index}]", item, element, rules, warnings, secret,
                           rule_key if "options" not in spec else f"{rule_key}[]")
    elif declared == "dict" and "options" in spec:
        for sub, sub_spec in spec["options"].items():
            if sub in value:
                lines += check(f"{name}.{sub}", value[sub], sub_spec, rules, warnings, secret,
                               f"{rule_key}.{sub}")
    return lines


def problems_of(values, options, rules, warnings=None):
    """Every problem of the role's values (a dict name -> value) by its options' specs."""
    warnings = [] if warnings is None else warnings
    lines = []
    for name, spec in options.items():
        if name in values:
            lines += check(name, values[name], spec, rules, warnings)
    return lines


class ActionModule(ActionBase):
    """Check the calling role's variables, as it will see them."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        role = self._task._role
        if role is None:
            raise AnsibleError("role_input checks a role's variables: call it from a role's tasks")
        # The entry point the role was called with (tasks_from), as Ansible's own check does.
        entry_point = self._task.args.get("entry_point") or role._from_files.get("tasks", "main")
        rules = self._task.args.get("rules", {}) or {}
        spec_file = Path(role._role_path) / "meta" / "argument_specs.yml"
        specs = yaml_load(spec_file.read_text(encoding="utf-8"))["argument_specs"]
        if entry_point not in specs:
            raise AnsibleError(f"{spec_file} has no entry point {entry_point!r}")
        options = specs[entry_point].get("options", {})
        values = self._templar.template({name: task_vars[name] for name in options if name in task_vars})
        warnings = []
        lines = problems_of(values, options, rules, warnings)
        result["changed"] = False
        if warnings:
            result["warnings"] = warnings
        if lines:
            result["failed"] = True
            result["msg"] = (f"Role {role.get_name()}: bad input, nothing was changed.\n"
                             + "\n".join(lines))
        else:
            result["msg"] = f"Role {role.get_name()}: {len(values)} variables checked"
        return result
