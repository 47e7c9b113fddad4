"""Set Airflow's accounts (the FAB auth manager's) from JSON on standard input.

Run by role airflow through airflow-admin --python (the services' configuration and
account). Input: {"check": bool, "users": [{"name", "password", "role", "state"}]}.
An account is created with its role, or its password (compared with the stored hash) and
roles are set; "absent" deletes it. Prints {"changed": [names]} and nothing secret; with
"check" true it only reports. Exit status 1 with a message on an error.
"""

import json
import sys


def main() -> int:
    spec = json.load(sys.stdin)
    check = bool(spec.get("check"))
    # Airflow's imports log to standard output: keep it for the answer.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    from werkzeug.security import check_password_hash

    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    changed = []
    with get_application_builder() as appbuilder:
        sm = appbuilder.sm
        for account in spec["users"]:
            name = account["name"]
            user = sm.find_user(username=name)
            if account.get("state", "present") == "absent":
                if user is not None:
                    changed.append(name)
                    if not check:
                        user.roles.clear()
                        if not sm.del_register_user(user):
                            raise SystemExit(f"account {name}: could not be deleted")
                continue
            role = sm.find_role(account["role"])
            if role is None:
                raise SystemExit(f"account {name}: no role {account['role']!r} in Airflow")
            if user is None:
                changed.append(name)
                if not check:
                    sm.add_user(username=name, first_name=name, last_name="-",
                                email=f"{name}@airflow.invalid", role=role,
                                password=account["password"])
                continue
            roles_differ = [r.name for r in user.roles] != [role.name]
            password_differs = not (user.password and check_password_hash(user.password, account["password"]))
            if roles_differ or password_differs or not user.active:
                changed.append(name)
                if not check:
                    if password_differs:
                        sm.reset_password(user.id, account["password"])
                        user = sm.find_user(username=name)
                    user.roles = [role]
                    user.active = True
                    sm.update_user(user)
    real_stdout.write(json.dumps({"changed": changed}) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit as exc:
        if isinstance(exc.code, str):
            sys.__stdout__.write(json.dumps({"error": exc.code}) + "\n")
            sys.exit(1)
        raise
