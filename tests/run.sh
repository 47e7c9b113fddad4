#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#   lint (yamllint, ansible-lint) -> syntax check of every playbook -> control-node tests
#   (pytest tests/unit) -> test images -> every role's Molecule scenario -> integration
#   (the five-host lab, molecule/dvc_remote).
# Each check's output goes to artifacts/logs/<check>.log; a failed check prints its tail.
# The last line is "N passed, N failed"; the exit status is non-zero when any check failed.
#
#   tests/run.sh                 everything
#   tests/run.sh lint unit       only these stages (lint, syntax, unit, molecule, integration)
#   MLP_SCENARIOS="common@13"    only these Molecule runs (role@debian-version, space separated)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export ANSIBLE_CONFIG="$root/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 NO_COLOR=1 PY_COLORS=0
logs="$root/artifacts/logs"
mkdir -p "$logs"

# Molecule runs: every role scenario on Debian 12; roles listed here also on Debian 13
# (model_service: its image runs Python 3.11 on 12 and 3.13 on 13, with compiled wheels).
both_versions=" common docker model_service "
default_scenarios() {
  local dir role
  for dir in roles/*/molecule/default; do
    [ -f "$dir/molecule.yml" ] || continue
    role=${dir#roles/}; role=${role%%/*}
    printf '%s@12 ' "$role"
    case "$both_versions" in *" $role "*) printf '%s@13 ' "$role" ;; esac
  done
}
scenarios=${MLP_SCENARIOS:-$(default_scenarios)}
stages=("$@")
[ "${#stages[@]}" -gt 0 ] || stages=(lint syntax unit molecule integration)

passed=0 failed=0 results=() failed_checks=()
started=$(date +%s)

check() { # name command...
  local name=$1 t0 rc
  shift
  t0=$(date +%s)
  printf '>> %-28s ' "$name"
  "$@" >"$logs/$name.log" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1)); results+=("PASS $name $(($(date +%s) - t0))s")
    echo "PASS ($(($(date +%s) - t0))s)"
  else
    failed=$((failed + 1)); results+=("FAIL $name $(($(date +%s) - t0))s"); failed_checks+=("$name")
    echo "FAIL ($(($(date +%s) - t0))s, rc=$rc) -- last lines of artifacts/logs/$name.log:"
    tail -n 40 "$logs/$name.log" | sed 's/^/   | /'
  fi
  return "$rc"
}

failure_digest() { # log: the lines that say what failed, at most 12: pytest, Molecule and
  # Ansible's recap first, then the tasks that failed (some of those were expected to fail)
  { grep -a -E '^(FAILED |ERROR )|^E +[A-Za-z]|^\* \[|CRITICAL|[^ ]+ +: ok=[0-9]+ .*failed=[1-9]|=+ .*(failed|error).* in [0-9.]+s' "$1"
    grep -a -E 'fatal: \[|failed: \[' "$1"; } \
    | grep -v -- '- RETRYING:' | sed -E 's/\x1b\[[0-9;]*m//g' | cut -c1-300 | head -n 12
}

syntax_check() {
  local playbook rc=0
  for playbook in playbooks/*.yml; do
    echo "== $playbook"
    ansible-playbook --syntax-check "$playbook" || rc=1
  done
  return "$rc"
}

molecule_run() { # role version
  (cd "roles/$1" && MLP_ROLE=$1 MLP_DEBIAN=$2 molecule test)
}

lab_test() { # the lab scenario under its own names and ports, beside a user's `make lab`
  MLP_LAB_PREFIX=mlp-labtest MLP_LAB_TESTING=true MLP_LAB_HTTPS_PORT=18443 MLP_LAB_HTTP_PORT=18080 \
    molecule test -s lab
}

for stage in "${stages[@]}"; do
  case "$stage" in
    lint)
      check yamllint yamllint --strict .
      check ansible-lint ansible-lint
      ;;
    syntax) check syntax-check syntax_check ;;
    unit) check pytest-unit python -m pytest -v -p no:cacheprovider tests/unit ;;
    molecule)
      versions=$(printf '%s\n' $scenarios | sed 's/.*@//' | sort -u | tr '\n' ' ')
      # shellcheck disable=SC2086 # word splitting of the version list is wanted
      if check test-images tests/images/build.sh --python $versions; then
        for scenario in $scenarios; do
          check "molecule-${scenario/@/-debian}" molecule_run "${scenario%@*}" "${scenario#*@}"
        done
      fi
      ;;
    integration)
      if check lab-images tests/images/build.sh --lab --python 12; then
        check integration-lab lab_test
      fi
      check integration-dvc-remote molecule test -s dvc_remote
      ;;
    *) echo "tests/run.sh: unknown stage '$stage' (lint, syntax, unit, molecule, integration)" >&2; exit 2 ;;
  esac
done

# Leave no test container behind, whatever happened -- when this run started any (a lint
# or unit run must not touch the containers of another run).
case " ${stages[*]} " in
  *" molecule "* | *" integration "*)
    docker ps -aq --filter label=org.mlplatform.test=true 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 ;;
esac

echo
printf '%s\n' "${results[@]}"
# Why each failed check failed, next to the summary (CI shows the end of the output).
for name in "${failed_checks[@]}"; do
  echo "why $name:"
  { failure_digest "$logs/$name.log" | grep . || tail -n 3 "$logs/$name.log"; } | sed 's/^/   | /'
done
echo "total wall time: $(($(date +%s) - started))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
