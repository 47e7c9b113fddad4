#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#   lint (yamllint, ansible-lint) -> syntax check of every playbook -> control-node tests
#   (pytest tests/unit) -> test images -> every role's Molecule scenario and the integration
#   test (the five-host lab, through its entry point lab/up.sh), MLP_JOBS at a time.
# Each check's output goes to artifacts/logs/<check>.log; a failed check prints its tail.
# The last line is "N passed, N failed"; the exit status is non-zero when any check failed.
#
#   tests/run.sh                 everything
#   tests/run.sh lint unit       only these stages (lint, syntax, unit, molecule, integration)
#   tests/run.sh --list          the Molecule runs it would make (role-debianN), a line each
#   MLP_SCENARIOS="common@13"    only these Molecule runs (role@release, space separated)
#   MLP_JOBS=1                   Molecule checks one at a time (default 2: the lab beside the
#                                scenarios. A one-host scenario keeps about one core busy -- its
#                                tasks run one after another -- and the lab about 1.5, so on the
#                                2-core machine two side by side use the cores the other leaves).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=tests/platforms.env
. tests/platforms.env
export ANSIBLE_CONFIG="$root/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 NO_COLOR=1 PY_COLORS=0
logs="$root/artifacts/logs"
mkdir -p "$logs"
jobs=${MLP_JOBS:-2}
# Labels this run's test containers (.config/molecule/create.yml): the clean-up at the end
# removes those only.
export MLP_TEST_RUN="${MLP_TEST_RUN:-$$-$(date +%s)}"

# Molecule runs: every role scenario on MLP_DEBIAN_DEFAULT, the roles of MLP_EVERY_RELEASE
# (tests/platforms.env, or the environment: "common docker model_service", "all") on every
# release of MLP_DEBIAN_VERSIONS. The lab runs on MLP_LAB_DEBIAN, so every role meets both.
every_release=" ${MLP_EVERY_RELEASE:-} "
default_scenarios() {
  local dir role version
  for dir in roles/*/molecule/default; do
    [ -f "$dir/molecule.yml" ] || continue
    role=${dir#roles/}; role=${role%%/*}
    case "$every_release" in
      *" $role "* | *" all "*) for version in $MLP_DEBIAN_VERSIONS; do printf '%s@%s ' "$role" "$version"; done ;;
      *) printf '%s@%s ' "$role" "$MLP_DEBIAN_DEFAULT" ;;
    esac
  done
}
scenarios=${MLP_SCENARIOS:-$(default_scenarios)}
if [ "${1:-}" = --list ]; then # the Molecule runs the suite would make, a line each
  printf 'molecule-%s\n' $scenarios | sed 's/@/-debian/'
  echo "integration-lab (Debian $MLP_LAB_DEBIAN)"
  exit 0
fi
stages=("$@")
[ "${#stages[@]}" -gt 0 ] || stages=(lint syntax unit molecule integration)

passed=0 failed=0 results=() failed_checks=()
started=$(date +%s)

record() { # name rc seconds: count the result and print its line (the tail of a failure)
  local name=$1 rc=$2 seconds=$3
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1)); results+=("PASS $name ${seconds}s")
    printf '>> %-32s PASS (%ss)\n' "$name" "$seconds"
  else
    failed=$((failed + 1)); results+=("FAIL $name ${seconds}s"); failed_checks+=("$name")
    printf '>> %-32s FAIL (%ss, rc=%s) -- last lines of artifacts/logs/%s.log:\n' "$name" "$seconds" "$rc" "$name"
    tail -n 40 "$logs/$name.log" | sed 's/^/   | /'
  fi
}

check() { # name command...: run one check now
  local name=$1 t0 rc
  shift
  t0=$(date +%s)
  "$@" >"$logs/$name.log" 2>&1
  rc=$?
  record "$name" "$rc" "$(($(date +%s) - t0))"
  return "$rc"
}

# Checks run side by side, at most $jobs at once: each in the background, its exit status
# and time in artifacts/logs/<name>.rc, read back in the order they finish.
declare -A running=()
start_check() { # name command...
  local name=$1
  shift
  ( t0=$(date +%s); "$@" >"$logs/$name.log" 2>&1; rc=$?
    echo "$rc $(($(date +%s) - t0))" >"$logs/$name.rc" ) &
  running[$!]=$name
}
reap_one() { # wait for any running check, record it
  local pid name rc seconds
  wait -n -p pid "${!running[@]}" 2>/dev/null || true
  [ -n "${pid:-}" ] || return 0
  name=${running[$pid]}
  unset "running[$pid]"
  read -r rc seconds <"$logs/$name.rc" 2>/dev/null || { rc=1; seconds=0; }
  rm -f "$logs/$name.rc"
  record "$name" "$rc" "$seconds"
}
queue_check() { # name command...: start it once a slot is free
  while [ "${#running[@]}" -ge "$jobs" ]; do reap_one; done
  start_check "$@"
}
drain() { while [ "${#running[@]}" -gt 0 ]; do reap_one; done; }

failure_digest() { # log: the lines that say what failed, at most 16, in this order: pytest's
  # verdicts; in a failed test's message, the tasks that failed and the recap lines; the
  # message's first lines; then Molecule's and Ansible's own (a converge that failed; some of
  # those tasks were expected to fail). Not Molecule's "CRITICAL ... glob failed" for the
  # default scenario a top-level scenario (molecule/lab) does not have: it goes on, and says
  # so on every run.
  local failure='fatal: \[|failed: \[|[^ ]+ +: ok=[0-9]+ .*(failed|unreachable)=[1-9]'
  { grep -a -E '^(FAILED |ERROR )|^=+ .*(failed|error).* in [0-9.]+s' "$1"
    grep -a -E "^E .*($failure)" "$1"
    grep -a -E '^E +[A-Za-z]' "$1" | grep -v -E '^E +(ok|skipping|changed|included): \[|^E +TASK \[' | head -n 6
    grep -a -E "^\* \[|CRITICAL|$failure" "$1" | grep -v '^E '; } \
    | grep -v -e '- RETRYING:' -e "molecule/default/molecule.yml' glob failed" | sed -E 's/\x1b\[[0-9;]*m//g' | cut -c1-300 \
    | awk '!seen[$0]++' | head -n 16
}

syntax_check() { # every playbook, in one ansible-playbook (it names each one it checks)
  ansible-playbook --syntax-check playbooks/*.yml
}

steps_timed() { # copy a Molecule log through, with a line saying when each step began (seconds
  # since the check started): where a check's time goes
  local line
  SECONDS=0
  while IFS= read -r line; do
    case $line in *" > "*"] Executing") printf -- "-- step at %ss: %s\n" "$SECONDS" "${line##*> }" ;; esac
    printf '%s\n' "$line"
  done
}

molecule_run() { # role release -- a Molecule directory of its own, so that two releases of
  # one role (same scenario name) can run side by side
  local ephemeral="${HOME}/.cache/molecule/mlplatform/$1-debian$2"
  rm -rf "$ephemeral"
  (cd "roles/$1" && MLP_ROLE=$1 MLP_DEBIAN=$2 MOLECULE_EPHEMERAL_DIRECTORY=$ephemeral molecule test) 2>&1 | steps_timed
}

lab_test() { # the lab through its entry point (lab/up.sh, what `make lab` runs), under its
  # own names and ports beside a user's `make lab`; then Molecule's remaining steps
  export MLP_LAB_PREFIX=mlp-labtest MLP_LAB_TESTING=true MLP_LAB_HTTPS_PORT=18443 MLP_LAB_HTTP_PORT=18080 \
    MLP_DEBIAN=$MLP_LAB_DEBIAN MOLECULE_EPHEMERAL_DIRECTORY="${HOME}/.cache/molecule/mlplatform/labtest"
  local rc=0 t0
  molecule destroy -s lab >/dev/null 2>&1
  t0=$(date +%s)
  echo "== lab/up.sh (make lab's path; it must return and print the next steps)"
  timeout 2700 lab/up.sh | tee "$logs/integration-lab.up.log" || rc=1
  echo "== lab/up.sh took $(($(date +%s) - t0))s"
  if [ "$rc" = 0 ] && ! grep -q 'The lab is up' "$logs/integration-lab.up.log"; then
    echo "lab/up.sh returned without printing the next steps"; rc=1
  fi
  if [ "$rc" = 0 ]; then
    # side_effect: site.yml --check --diff changes nothing; verify: the lab's tests
    # (molecule/lab/tests). Idempotence is checked there, by the site.yml run with data1
    # down (test_resilience.py), after the ML loop: Molecule's own step would be a run more.
    for step in side-effect verify; do
      echo "== molecule $step -s lab"
      t0=$(date +%s)
      molecule "$step" -s lab || { rc=1; break; }
      echo "== molecule $step -s lab took $(($(date +%s) - t0))s"
    done
  fi
  molecule destroy -s lab >/dev/null 2>&1
  return "$rc"
}

for stage in "${stages[@]}"; do
  case "$stage" in
    lint)
      check yamllint yamllint --strict .
      check ansible-lint ansible-lint
      ;;
    syntax) check syntax-check syntax_check ;;
    # Each test runs ansible-playbook (CPU-bound): one worker per core. The bad-input cases
    # of a role are one batched run (conftest.validation_batch), shared by the workers.
    unit) check pytest-unit python -m pytest -v -p no:cacheprovider -n auto --durations 15 tests/unit ;;
    molecule | integration)
      # Both stages in one pool when both are asked for: the lab first (the longest check),
      # then the scenarios, longest first, MLP_JOBS at a time.
      [ -z "${pool_done:-}" ] || continue
      pool_done=1
      want_lab="" want_roles=""
      case " ${stages[*]} " in *" integration "*) want_lab=1 ;; esac
      case " ${stages[*]} " in *" molecule "*) want_roles=1 ;; esac
      versions=""
      [ -z "$want_roles" ] || versions=$(printf '%s\n' $scenarios | sed 's/.*@//')
      [ -z "$want_lab" ] || versions="$versions $MLP_LAB_DEBIAN"
      images_args=(--python)
      [ -z "$want_lab" ] || images_args+=(--lab)
      # shellcheck disable=SC2046,SC2086 # word splitting of the release list is wanted
      if check test-images tests/images/build.sh "${images_args[@]}" $(printf '%s\n' $versions | sort -u); then
        [ -z "$want_lab" ] || queue_check integration-lab lab_test
        if [ -n "$want_roles" ]; then
          # Longest first (as measured), so that the last ones to start are short.
          for scenario in $(printf '%s\n' $scenarios | awk -F@ '
              BEGIN { n = split("jupyterhub model_service mlflow airflow common dvc docker data_storage git conda", o, " ")
                      for (i = 1; i <= n; i++) rank[o[i]] = i }
              { print (($1 in rank) ? rank[$1] : 0), $0 }' | sort -n -s -k1,1 | cut -d' ' -f2); do
            queue_check "molecule-${scenario/@/-debian}" molecule_run "${scenario%@*}" "${scenario#*@}"
          done
        fi
        drain
      fi
      ;;
    *) echo "tests/run.sh: unknown stage '$stage' (lint, syntax, unit, molecule, integration)" >&2; exit 2 ;;
  esac
done

# Leave none of this run's test containers behind, whatever happened (those of another run
# beside it, and a lab kept with MLP_LAB_TESTING unset, are not this run's).
case " ${stages[*]} " in
  *" molecule "* | *" integration "*)
    docker ps -aq --filter label=org.mlplatform.test=true --filter "label=org.mlplatform.test.run=$MLP_TEST_RUN" \
      2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 ;;
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
