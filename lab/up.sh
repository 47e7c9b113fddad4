#!/usr/bin/env bash
# The lab's entry point (`make lab`; the integration test runs it too): build the images it
# needs (cached), start the five hosts and provision them from the admin host over SSH
# (`molecule converge -s lab`: create, prepare, lab/provision.sh), then print the URLs and
# next steps. Returns when that is done; run it again to re-provision (the containers stay).
# Needs the project's virtualenv on PATH (the Makefile activates it) and a Docker engine
# (scripts/prepare-machine.sh).
#
# Environment: MLP_DEBIAN (the lab's Debian release, default MLP_LAB_DEBIAN of
# tests/platforms.env), MLP_LAB_PREFIX, MLP_LAB_HTTPS_PORT, MLP_LAB_HTTP_PORT (molecule/lab).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/platforms.env
. tests/platforms.env
export MLP_DEBIAN=${MLP_DEBIAN:-$MLP_LAB_DEBIAN}

tests/images/build.sh --lab --python "$MLP_DEBIAN"
molecule converge -s lab
lab/next-steps.sh
