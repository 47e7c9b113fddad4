"""Make MLflow's basic-auth users what the inventory says (role mlflow).

Reads one JSON document on standard input:
  {"database_uri": "...", "check": false,
   "users": [{"name": "...", "password": "...", "admin": false, "state": "present"}]}
Each present user is created, or given the password and admin flag when they differ (a
password is compared by logging in with it: the store keeps only hashes); each absent one is
deleted. With "check": true nothing is written. Prints one JSON line: {"changed": [what
changed, by user name]} or {"error": "..."}. Never prints a password or the database URI.
"""

import json
import sys


def main():
    request = json.load(sys.stdin)
    try:
        from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

        store = SqlAlchemyStore()
        store.init_db(request["database_uri"])
        changed = []
        for user in request["users"]:
            name, check = user["name"], request.get("check", False)
            exists = store.has_user(name)
            if user.get("state", "present") == "absent":
                if exists:
                    changed.append(f"{name}: deleted")
                    if not check:
                        store.delete_user(name)
                continue
            admin = bool(user.get("admin", False))
            if not exists:
                changed.append(f"{name}: created" + (" (admin)" if admin else ""))
                if not check:
                    store.create_user(name, user["password"], is_admin=admin)
                continue
            if not store.authenticate_user(name, user["password"]):
                changed.append(f"{name}: new password")
                if not check:
                    store.update_user(name, password=user["password"])
            if store.get_user(name).is_admin != admin:
                changed.append(f"{name}: admin {'granted' if admin else 'revoked'}")
                if not check:
                    store.update_user(name, is_admin=admin)
    except Exception as error:  # noqa: BLE001 -- reported as JSON, without secrets
        text = str(error)
        for secret in [request.get("database_uri", "")] + [u.get("password", "") for u in request.get("users", [])]:
            if secret:
                text = text.replace(secret, "(hidden)")
        print(json.dumps({"error": f"{type(error).__name__}: {text}"[:2000]}))
        return 1
    print(json.dumps({"changed": changed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
