#!/usr/bin/env bash
# build-cli.sh terraform|tofu VERSION OUT: builds Terraform or OpenTofu
# VERSION (v1.13.3, v1.10.6) from the Go module proxy into OUT.
#
# Both modules' go.mod files carry replace directives, so `go install
# module@version` refuses them; building inside a copy of the downloaded
# module works. The version package reports "-dev" unless version.dev=no is
# linked in, as both projects' release builds do (Terraform's BUILDING.md,
# OpenTofu's .goreleaser.yaml).
#
# Terraform 1.10 and later keep nine remote-state backends (azurerm, consul,
# cos, gcs, kubernetes, oci, oss, pg, s3) and internal/legacy, which only
# those import, in nested Go modules that their go.mod replaces with local
# folders. A module zip leaves nested modules out, and the proxy does not
# serve them at the release's commit (it lists two 2024-2025 pseudo-versions
# with different code). So the Terraform built here lacks those nine
# backends: internal/backend/init/init.go's lines naming them are removed
# and go.mod drops their requirements; everything else is the release's
# code. It validates and plans (make tf-check runs init -backend=false); it
# cannot init an S3 backend, so make deploy never falls back to it.
set -euo pipefail
cli=${1:?usage: build-cli.sh terraform|tofu VERSION OUT} version=${2:?version} out=${3:?output path}
go=${GO:-go}
case $cli in
terraform) module=github.com/hashicorp/terraform pkg=. ;;
tofu) module=github.com/opentofu/opentofu pkg=./cmd/tofu ;;
*) echo "build-cli.sh: unknown CLI $cli (terraform or tofu)" >&2; exit 2 ;;
esac
out=$(realpath -m "$out")
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

start=$SECONDS
# Outside any module: go mod download then only downloads.
json=$("$go" -C "$tmp" mod download -json "$module@$version") || { echo "$json" >&2; exit 1; }
dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -d "$dir" ] || { echo "build-cli.sh: go mod download $module@$version named no folder:" >&2; echo "$json" >&2; exit 1; }
cp -R "$dir" "$tmp/src"
chmod -R u+w "$tmp/src"

if [ "$cli" = terraform ]; then
  nested=$(sed -n 's|^replace github.com/hashicorp/terraform/\(internal/[^ ]*\) => \./.*|\1|p' "$tmp/src/go.mod")
  edits=()
  for m in $nested; do
    [ -d "$tmp/src/$m" ] && continue # shipped in the zip after all
    edits+=("-dropreplace=$module/$m" "-droprequire=$module/$m")
    case $m in
    internal/backend/remote-state/*)
      alias=$(sed -n "s|^[[:space:]]*\([A-Za-z0-9_]*\) \"$module/$m\"$|\1|p" "$tmp/src/internal/backend/init/init.go")
      [ -n "$alias" ] || { echo "build-cli.sh: $m is not imported by internal/backend/init/init.go as expected" >&2; exit 1; }
      sed -i "/\b$alias\b/d" "$tmp/src/internal/backend/init/init.go"
      ;;
    esac
  done
  if [ ${#edits[@]} -gt 0 ]; then
    "$go" -C "$tmp/src" mod edit "${edits[@]}"
    echo "build-cli.sh: $module@$version without its nested modules (not served by the proxy): $(echo $nested)"
  fi
fi

"$go" -C "$tmp/src" build -trimpath -ldflags "-s -w -X '$module/version.dev=no'" -o "$out.tmp" "$pkg"
mv "$out.tmp" "$out"
echo "build-cli.sh: $("$out" version 2>/dev/null | sed -n 1p) built into $out in $((SECONDS - start)) s"
