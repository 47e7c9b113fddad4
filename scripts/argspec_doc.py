#!/usr/bin/env python3
"""Render a role's meta/argument_specs.yml into its README.md.

usage: scripts/argspec_doc.py [--check] ROLE_DIR...

The table goes between the markers <!-- BEGIN ARGUMENT SPECS --> and
<!-- END ARGUMENT SPECS --> of ROLE_DIR/README.md. With --check nothing is written and the
exit status is 1 when a README is out of date.
"""

import importlib.util
import json
import sys
from pathlib import Path

import yaml

BEGIN, END = "<!-- BEGIN ARGUMENT SPECS -->", "<!-- END ARGUMENT SPECS -->"


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def describe(spec):
    kind = spec.get("type", "str")
    if kind == "list" and "elements" in spec:
        kind = f"list of {spec['elements']}"
    return kind


def load_role_input():
    """plugins/action/role_input.py, whose effective_rule says what it checks of an option."""
    source = Path(__file__).resolve().parents[1] / "plugins/action/role_input.py"
    spec = importlib.util.spec_from_file_location("role_input", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROLE_INPUT = load_role_input()


def checked(key, spec, rule):
    """What role_input checks of an option beyond its type, in words: the defaults of its type
    (ranges, absolute paths) and the role's rule for it."""
    kind = spec.get("type", "str")
    # A list's rule applies to each item, by the items' type (as role_input checks them).
    item = spec.get("elements", "raw") if kind == "list" else kind
    rule = ROLE_INPUT.effective_rule(key, item, rule)
    words = []
    if item in ("int", "float"):
        low, high = rule.get("min"), rule.get("max")
        words.append(f"{low}-{high}" if high is not None else f">= {low}")
    if item == "path":
        words.append("an absolute path")
    if "form" in rule:
        words.append(rule["form"])
    if "url" in rule:
        words.append("a URL: " + ", ".join(f"{scheme}://" for scheme in rule["url"]))
    if rule.get("inside"):
        words.append("a relative path inside its directory")
    if rule.get("timezone"):
        words.append("a time zone name")
    if rule.get("network"):
        words.append("an IP address or a network (CIDR)")
    if rule.get("required"):
        words.append("not empty")
    if words and kind == "list":
        return "each item " + ", ".join(words)
    return ", ".join(words)


def rows(options, rules, prefix=""):
    for name, spec in options.items():
        description = spec.get("description", "")
        if isinstance(description, list):
            description = " ".join(description)
        extra = []
        if spec.get("required"):
            extra.append("required")
        if "choices" in spec:
            extra.append("one of " + ", ".join(f"`{c}`" for c in spec["choices"]))
        if spec.get("no_log"):
            extra.append("secret, never printed")
        rule_key = f"{prefix}{name}"
        check_words = checked(rule_key, spec, rules.get(rule_key, {}))
        if check_words:
            extra.append("checked: " + check_words)
        default = f"`{json.dumps(spec['default'])}`" if "default" in spec else ""
        text = description + (f" ({'; '.join(extra)})" if extra else "")
        yield f"| `{prefix}{name}` | {describe(spec)} | {cell(default)} | {cell(text)} |"
        if "options" in spec:
            inner = f"{prefix}{name}[]." if spec.get("type") == "list" else f"{prefix}{name}."
            yield from rows(spec["options"], rules, inner)


def render(role_dir):
    specs = yaml.safe_load((role_dir / "meta/argument_specs.yml").read_text())["argument_specs"]
    role_vars = yaml.safe_load((role_dir / "vars/main.yml").read_text()) or {}
    rules = role_vars.get(f"_{role_dir.resolve().name}_input_rules") or {}
    out = []
    for entry, spec in specs.items():
        out.append(f"Entry point `{entry}`: {spec.get('short_description', '')}\n")
        out.append("| variable | type | default | description |")
        out.append("| --- | --- | --- | --- |")
        out.extend(rows(spec.get("options", {}), rules))
        out.append("")
    return "\n".join(out)


def main(argv):
    check = "--check" in argv
    stale = []
    for arg in (a for a in argv[1:] if a != "--check"):
        role_dir = Path(arg)
        readme = role_dir / "README.md"
        text = readme.read_text()
        if BEGIN not in text or END not in text:
            sys.exit(f"{readme}: markers {BEGIN} / {END} missing")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        new = f"{head}{BEGIN}\n{render(role_dir)}\n{END}{tail}"
        if new != text:
            stale.append(str(readme))
            if not check:
                readme.write_text(new)
    if check and stale:
        print("out of date (run scripts/argspec_doc.py ROLE_DIR):", " ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
