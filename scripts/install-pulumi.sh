#!/usr/bin/env bash
# Make the Pulumi CLI and its Python language host available, and print the
# directory to put on PATH as the last line of stdout (progress goes to stderr).
#
#   export PATH="$(scripts/install-pulumi.sh):$PATH"
#
# Pulumi's own installers download release archives from get.pulumi.com or
# GitHub, which this project's machines cannot reach. Everything here comes
# from the Go module proxy instead, so it works wherever package registries do.
#
# Resolution order:
#   1. A `pulumi` already on PATH, such as an official install, is used if it
#      is v3, not older than the Pulumi SDK that requirements.lock pins, and the
#      Python and YAML language hosts sit next to it (an official install has
#      both). An older one is set aside with a note on how to upgrade it.
#      Set MAILFLOW_PULUMI_IGNORE_PATH=1 to skip this and always use the build.
#   2. A previous build in the cache directory, recognised by its stamp file,
#      is used as is (no Go, no network).
#   3. Otherwise (machines that reach package registries only, no official
#      CLI) the pinned version is built from source into
#        ${MAILFLOW_PULUMI_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mailflow/pulumi-$PULUMI_VERSION}/bin
#      which needs Go 1.26.6 or newer (pkg/v3's go.mod asks for it) and takes
#      10-30 minutes on two cores; later runs find the stamp and return at once.
#
# The bin directory holds:
#   pulumi                          the CLI, built from github.com/pulumi/pulumi/pkg/v3
#   pulumi-language-python          a Python language host (see below)
#   pulumi-language-python-exec     program launcher, copied from the Python SDK sources
#   pulumi-resource-pulumi-python   dynamic-provider plugin, copied from the same place
#   pulumi-language-yaml            the YAML language host (scripts/pulumi-language-yaml), built
#                                   on github.com/pulumi/pulumi-yaml $YAML_VERSION
#
# The engine looks for language hosts next to the `pulumi` executable before PATH, so the
# five always travel together in one directory.
#
# Why the language host is not Pulumi's own: upstream it is the separate module
# github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3, which is
# never tagged, and the module proxy here refuses to serve it. This script
# therefore builds a compact host of its own (scripts/pulumi-language-python/main.go) on top of the
# SDK's python/toolchain package, which is where the virtualenv/pip/poetry/uv
# handling of the upstream host lives. It runs programs and component packages
# (PulumiPlugin.yaml, `pulumi package add`), reports the provider plugins that
# installed Python packages need, installs dependencies and answers `pulumi
# about`; code generation (`pulumi convert`, `pulumi package gen-sdk`, ...) and
# Python policy packs are not supported by it.
#
# Concurrent runs are serialised with flock; a build is staged in a temporary
# directory and only moved into place, and stamped, once everything worked.

set -euo pipefail

readonly PULUMI_VERSION=v3.274.1
# The newest pulumi-yaml release the module proxy serves; it brings its own Pulumi SDK version,
# so its host is built as a module of its own.
readonly YAML_VERSION=v1.25.0
here="$(dirname "$(readlink -f "$0")")"
# Existing caches are rebuilt, not trusted, when the recipe or a host's source changes.
readonly RECIPE=4
sources="$(cat "$here/pulumi-language-python/main.go" "$here/pulumi-language-yaml/main.go" | sha256sum)"
readonly STAMP_TEXT="pulumi $PULUMI_VERSION yaml $YAML_VERSION recipe $RECIPE sources ${sources%% *}"
readonly TOOLS=(pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python
    pulumi-language-yaml)

prefix="${MAILFLOW_PULUMI_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mailflow/pulumi-$PULUMI_VERSION}"
bin="$prefix/bin"
stamp="$prefix/.stamp"

# Keep stdout for the final answer only; everything else goes to stderr.
exec 3>&1 1>&2

log() { printf 'install-pulumi: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
answer() { printf '%s\n' "$1" >&3; exit 0; }

# The oldest CLI the project runs with: the version of the Pulumi SDK it pins (a CLI older than
# its SDK may lack what the SDK asks of the engine).
floor="$(sed -n 's/^pulumi==\([0-9.]*\).*/\1/p' "$here/../requirements.lock" 2>/dev/null | head -n1)"
floor="${floor:-${PULUMI_VERSION#v}}"
readonly UPGRADE="https://www.pulumi.com/docs/iac/download-install/ (curl -fsSL https://get.pulumi.com | sh, or brew upgrade pulumi)"

# True when $1 (e.g. 3.275.0) is not older than the floor.
version_fits() {
    local have="$1"
    [[ $(printf '%s\n%s\n' "$floor" "$have" | sort -V | head -n1) == "$floor" ]]
}

# Prints the directory of a suitable pulumi found on PATH.
usable_pulumi_on_path() {
    [[ -z ${MAILFLOW_PULUMI_IGNORE_PATH:-} ]] || return 1
    local exe dir have
    exe="$(command -v pulumi 2>/dev/null)" || return 1
    # Official installs keep the plugins beside the real binary, not beside a symlink to it.
    exe="$(readlink -f "$exe")"
    dir="$(dirname "$exe")"
    # Our own build may already be on PATH; whether it is current is for the stamp to say.
    [[ $dir != "$(readlink -m "$bin")" ]] || return 1
    have="$(PULUMI_SKIP_UPDATE_CHECK=true "$exe" version 2>/dev/null)" || return 1
    have="${have%%[[:space:]]*}"
    if [[ ${have#v} != 3.* ]]; then
        log "ignoring $exe: pulumi $have is not version 3, which the project's Pulumi SDK v$floor needs"
        return 1
    fi
    if ! version_fits "${have#v}"; then
        log "ignoring $exe: pulumi $have is older than v$floor, the Pulumi SDK this project pins; upgrade it: $UPGRADE"
        return 1
    fi
    local host
    for host in pulumi-language-python pulumi-language-yaml; do
        if [[ ! -x $dir/$host ]]; then
            log "ignoring $exe: $host is not next to it"
            return 1
        fi
    done
    printf '%s\n' "$dir"
}

cache_is_complete() {
    [[ -f $stamp && $(<"$stamp") == "$STAMP_TEXT" ]] || return 1
    local tool
    for tool in "${TOOLS[@]}"; do
        [[ -x $bin/$tool ]] || return 1
    done
}

if dir="$(usable_pulumi_on_path)"; then
    log "using existing $dir/pulumi"
    answer "$dir"
fi
if cache_is_complete; then
    answer "$bin"
fi

command -v go >/dev/null 2>&1 ||
    die "no Pulumi CLI v$floor or newer on PATH, and no Go to build $PULUMI_VERSION from source: install the Pulumi CLI, $UPGRADE; or Go 1.26 or newer"

mkdir -p "$prefix"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$prefix/.lock"
    if ! flock -n 9; then
        log "another build of Pulumi is running; waiting for it"
        flock 9
    fi
    # The process we waited for may have finished the job.
    if cache_is_complete; then
        answer "$bin"
    fi
else
    log "warning: flock not found; concurrent runs are not serialised"
fi

work="$(mktemp -d "$prefix/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
buildlog="$prefix/build.log"
: >"$buildlog"

run_logged() {
    if ! "$@" >>"$buildlog" 2>&1; then
        log "failed: $*"
        tail -n 40 "$buildlog" >&2
        die "build failed; full log in $buildlog"
    fi
}

# A throwaway module that depends on the released modules. `go install
# pkg@version` refuses pkg/v3 because its go.mod has replace directives, so the
# one that matters (the clipboard fork) is repeated here; the other one points
# sdk/v3 at a sibling directory, which the explicit requirement covers.
mkdir -p "$work/src/langhost" "$work/yaml" "$work/bin"
cat >"$work/src/go.mod" <<EOF
module mailflow.invalid/pulumi-build

go 1.26

require (
	github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 $PULUMI_VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
EOF
# Keeps the CLI's dependencies in the module graph for `go mod tidy`.
cat >"$work/src/tools.go" <<'EOF'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF
# The language host (see the header) is a Go file of this project, built like the CLI.
cp "$here/pulumi-language-python/main.go" "$work/src/langhost/main.go"
# The YAML host, in the module of the pulumi-yaml release it wraps.
cat >"$work/yaml/go.mod" <<EOF
module mailflow.invalid/pulumi-language-yaml

go 1.26

require github.com/pulumi/pulumi-yaml $YAML_VERSION
EOF
cp "$here/pulumi-language-yaml/main.go" "$work/yaml/main.go"

# Pure-Go static binaries: no C toolchain needed and nothing to break when the
# cache is copied between machines. -mod=mod lets tidy/build fill go.sum.
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"

log "resolving Pulumi $PULUMI_VERSION modules (log: $buildlog)"
(cd "$work/src" && run_logged go mod tidy)
(cd "$work/yaml" && run_logged go mod tidy)

log "building pulumi $PULUMI_VERSION; a cold build takes 10-30 minutes on two cores"
start=$SECONDS
(cd "$work/src" && run_logged go build -trimpath -tags osusergo -ldflags "$ldflags" \
    -o "$work/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
log "building pulumi-language-python"
(cd "$work/src" && run_logged go build -trimpath -tags osusergo -ldflags "$ldflags" \
    -o "$work/bin/pulumi-language-python" ./langhost)
log "building pulumi-language-yaml on pulumi-yaml $YAML_VERSION"
(cd "$work/yaml" && run_logged go build -trimpath -tags osusergo -ldflags "-s -w" \
    -o "$work/bin/pulumi-language-yaml" .)

# The launcher and the dynamic-provider plugin are plain scripts shipped in the
# sdk/v3 module; take them from the exact version the binaries were built with.
sdkdir="$(cd "$work/src" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
[[ -n $sdkdir && -d $sdkdir/python ]] || die "sdk/v3 sources not found in the module cache"
install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$work/bin/"
install -m 0755 "$sdkdir/python/dist/pulumi-resource-pulumi-python" "$work/bin/"

got="$("$work/bin/pulumi" version 2>/dev/null || true)"
[[ $got == "$PULUMI_VERSION" ]] || die "built pulumi reports version '$got', expected $PULUMI_VERSION"
for host in pulumi-language-python pulumi-language-yaml; do
    "$work/bin/$host" -h >/dev/null 2>&1 || die "built $host does not start"
done
log "built in $((SECONDS - start))s"

# Swap the new directory in, then stamp it: a missing stamp always means
# "not (completely) built", whatever happens in between.
rm -f "$stamp"
rm -rf "$bin"
mv "$work/bin" "$bin"
printf '%s\n' "$STAMP_TEXT" >"$stamp.tmp"
mv "$stamp.tmp" "$stamp"
log "installed into $bin"
answer "$bin"
