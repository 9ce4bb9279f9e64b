#!/usr/bin/env bash
# make demo: the lab (a controller and three workers as real SSH hosts, a real Kubernetes
# control plane, containerd, cert-manager, an upstream registry standing in for Docker
# Hub), then `tsrun provision` of the pull-through mirror into it, and a pull through the
# mirror from every worker. The lab stays up to look around; `make lab-down` removes it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tsrun="$repo/bin/tsrun"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "The lab"
node "$repo/lab/dist/lab-cli.js" up
inventory="$repo/.lab/hosts.ini"

step "Check mode: what provisioning would change (nothing is touched)"
$tsrun provision -i "$inventory" --check | tail -n 7

step "tsrun provision: the registry mirror, and every node pointed at it (the last play pulls through it)"
$tsrun provision -i "$inventory"

step "Again: nothing left to change"
$tsrun provision -i "$inventory" | tail -n 7

step "What every worker pulled through the mirror"
for worker in $(sed -n '/^\[workers\]/,/^$/p' "$inventory" | awk 'NR > 1 && NF { print $1 }'); do
  address=$(awk -v h="$worker" '$1 == h { sub("ansible_host=", "", $2); print $2 }' "$inventory")
  key=$(sed -n 's/^ansible_ssh_private_key_file=//p' "$inventory")
  known=$(sed -n 's/^tsrun_known_hosts=//p' "$inventory")
  printf '%s: ' "$worker"
  ssh -q -i "$key" -o UserKnownHostsFile="$known" -o StrictHostKeyChecking=yes "root@$address" \
    'ctr --address /run/containerd/containerd.sock -n k8s.io images ls -q | grep library/ | tr "\n" " "; echo'
done

step "Where to look"
node "$repo/lab/dist/lab-cli.js" status
cat <<TXT

  inventory:           $inventory
  a worker's mirror:   ssh into a worker, cat /etc/containerd/certs.d/docker.io/hosts.toml
  the cluster:         ssh into the controller, kubectl -n docker-registry get all
  undo it:             $tsrun unprovision -i $inventory
  remove the lab:      make lab-down
TXT
