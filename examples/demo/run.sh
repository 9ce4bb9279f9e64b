#!/usr/bin/env bash
# make demo: four real SSH hosts on this machine, the sample playbook in check mode, for
# real, and again (nothing left to change), then the hosts are removed.
set -euo pipefail
hosts_dir=${1:?usage: run.sh HOSTS_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tsrun="node $here/../../bin/tsrun.js"
lab="node $here/../../dist/lab/testhosts-cli.js"

trap '$lab down --state-dir "$hosts_dir" >/dev/null 2>&1 || true' EXIT
inventory=$($lab up --count 4 --state-dir "$hosts_dir" --prefix demo)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "Check mode: what would change (nothing is touched)"
$tsrun run "$here/site.yml" -i "$inventory" --check
step "The real run, with diffs"
$tsrun run "$here/site.yml" -i "$inventory" --diff
step "Again: nothing left to change"
$tsrun run "$here/site.yml" -i "$inventory"
step "Done. The inventory was $inventory; the hosts are removed now."
