#!/usr/bin/env bash
# Builds the control-plane binaries of the lab from the Go module proxy only (no release
# tarballs) into a cache outside the work tree, keyed by version. Only the first build
# on a machine is slow; with everything cached this returns at once.
#
#   lab/k8s/build.sh            build what is missing, print the bin dir
#   TSRUN_K8S_CACHE=/path ...   another cache root (default /var/cache/tsrun/k8s)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache_root=${TSRUN_K8S_CACHE:-/var/cache/tsrun/k8s}
bin_dir=$cache_root/$K8S_VERSION/bin
stamp="kubernetes $K8S_VERSION etcd $ETCD_VERSION kwok $KWOK_VERSION"

wanted=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
command -v kubectl >/dev/null 2>&1 || wanted+=(kubectl)

is_cached() {
  [ -f "$bin_dir/VERSIONS" ] && [ "$(cat "$bin_dir/VERSIONS")" = "$stamp" ] || return 1
  local name
  for name in "${wanted[@]}"; do [ -x "$bin_dir/$name" ] || return 1; done
}

if is_cached; then
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: go is needed (Go >= 1.26)" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0
# Builds change go.mod/go.sum only in a scratch copy; the checked-in ones pin the graph.
export GOFLAGS="-mod=mod -trimpath -p=2"
started=$(date +%s)
mkdir -p "$bin_dir"
# A changed pin invalidates everything built before it.
if [ -f "$bin_dir/VERSIONS" ] && [ "$(cat "$bin_dir/VERSIONS")" != "$stamp" ]; then
  rm -f "$bin_dir"/*
fi
work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# go build -o DIR/ writes each command under its own name; binaries move into place only
# when all of a group built, so an interrupted build never leaves a broken cache.
build_group() { # module-dir ldflags package...
  local module=$1 ldflags=$2
  shift 2
  cp -r "$here/$module" "$work/$module"
  mkdir -p "$work/out-$module"
  (cd "$work/$module" && go build -ldflags "$ldflags" -o "$work/out-$module/" "$@")
  mv "$work/out-$module"/* "$bin_dir/"
}

missing() { [ ! -x "$bin_dir/$1" ]; }

if missing etcd; then
  echo "building etcd $ETCD_VERSION" >&2
  # The wrapper module's path ends in /etcd, so the command is named etcd.
  build_group etcd "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" .
fi

if missing kwok; then
  echo "building kwok $KWOK_VERSION" >&2
  mkdir -p "$work/kwok"
  GOBIN="$work/kwok" GOFLAGS="-trimpath -p=2" \
    go install -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$work/kwok/kwok" "$bin_dir/kwok"
fi


k8s_minor=${K8S_VERSION#v1.}; k8s_minor=${k8s_minor%%.*}
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

k8s_packages=()
for name in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  case " ${wanted[*]} " in *" $name "*) missing "$name" && k8s_packages+=("k8s.io/kubernetes/cmd/$name") ;; esac
done
if [ ${#k8s_packages[@]} -gt 0 ]; then
  echo "building ${k8s_packages[*]##*/} $K8S_VERSION (the first build takes a while)" >&2
  build_group kubernetes "$k8s_ldflags" "${k8s_packages[@]}"
fi

echo "$stamp" >"$bin_dir/VERSIONS"
echo "cold build took $(($(date +%s) - started)) s" >&2
echo "$bin_dir"
