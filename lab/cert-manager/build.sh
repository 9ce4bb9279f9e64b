#!/usr/bin/env bash
# Builds the lab's cert-manager from the Go module proxy only (no release YAML, no images)
# into a cache outside the work tree, keyed by version:
#   <cache>/<version>/bin/cert-manager-controller   the controller (see controller/main.go)
#   <cache>/<version>/crds/*.yaml                    the CRDs from the module's deploy/crds
# With everything cached this returns at once.
#
#   lab/cert-manager/build.sh              build what is missing, print the version dir
#   TSRUN_CERT_MANAGER_CACHE=/path ...     another cache root (default /var/cache/tsrun/cert-manager)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache_root=${TSRUN_CERT_MANAGER_CACHE:-/var/cache/tsrun/cert-manager}
version_dir=$cache_root/$CERT_MANAGER_VERSION
bin=$version_dir/bin/cert-manager-controller
crd_dir=$version_dir/crds
# The CRDs a controller of this version reads and writes.
crds=(
  cert-manager.io_certificaterequests cert-manager.io_certificates
  cert-manager.io_clusterissuers cert-manager.io_issuers
  acme.cert-manager.io_challenges acme.cert-manager.io_orders
)

is_cached() {
  [ -x "$bin" ] || return 1
  local name
  for name in "${crds[@]}"; do [ -s "$crd_dir/$name.yaml" ] || return 1; done
}

if is_cached; then
  echo "$version_dir"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: go is needed (Go >= 1.25)" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0
# go.mod/go.sum are checked in and pin the graph; the build must not change them.
export GOFLAGS="-mod=readonly -trimpath -buildvcs=false -p=2"
started=$(date +%s)
mkdir -p "$cache_root"
work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The CRDs come from the module source in the module cache. In this version deploy/crds
# holds plain YAML; a Helm expression there would mean the layout changed under the pin.
module_dir=$(cd "$here/controller" && go mod download -json "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$module_dir/deploy/crds" ] || { echo "build.sh: no deploy/crds in $module_dir" >&2; exit 1; }
mkdir -p "$work/crds"
for name in "${crds[@]}"; do
  src=$module_dir/deploy/crds/$name.yaml
  if grep -q '{{' "$src"; then
    echo "build.sh: $src is templated; extraction must render it" >&2
    exit 1
  fi
  install -m 0644 "$src" "$work/crds/$name.yaml"
done

if [ ! -x "$bin" ]; then
  echo "building cert-manager-controller $CERT_MANAGER_VERSION (the first build takes a while)" >&2
  (cd "$here/controller" && go build -ldflags "-s -w" -o "$work/cert-manager-controller" .)
fi

# Everything moves into place only when all of it built, so an interrupted build never
# leaves a half-filled cache.
mkdir -p "$version_dir/bin"
rm -rf "$crd_dir"
mv "$work/crds" "$crd_dir"
[ -x "$bin" ] || mv "$work/cert-manager-controller" "$bin"
echo "cold build took $(($(date +%s) - started)) s" >&2
echo "$version_dir"
