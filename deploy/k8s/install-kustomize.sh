#!/usr/bin/env bash
# Installs kustomize (a pinned version) into <repo>/.local/bin, which git ignores, by building
# it from its Go module with `go install`; prints the binary's path. Idempotent: an installed
# binary of the right version is reused. Needs Go (1.22+) and the Go module proxy.
set -euo pipefail

version="${KUSTOMIZE_VERSION:-v5.8.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin_dir="${root}/.local/bin"
binary="${bin_dir}/kustomize"

if [[ -x "${binary}" ]] && "${binary}" version 2>/dev/null | grep -qF "${version}"; then
  echo "${binary}"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-kustomize.sh: Go is needed to build kustomize ${version}" >&2
  exit 1
fi
mkdir -p "${bin_dir}"
# The version is stamped the way kustomize's release builds do, so `kustomize version` names it.
GOBIN="${bin_dir}" GOFLAGS=-mod=mod go install \
  -ldflags "-X sigs.k8s.io/kustomize/api/provenance.version=${version}" \
  "sigs.k8s.io/kustomize/kustomize/v5@${version}" >&2
echo "${binary}"
