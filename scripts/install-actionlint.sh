#!/usr/bin/env bash
# Make actionlint (the GitHub Actions workflow checker) available and print the path of the
# binary as the last line of stdout; progress goes to stderr.
#
#   "$(scripts/install-actionlint.sh)" docs/pipelines/github-actions.yml
#
# Built from the Go module proxy (no release downloads) into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/mailflow/actionlint-$ACTIONLINT_VERSION/
# on the first run (about half a minute on two cores); later runs find the stamp and return at once.
# Concurrent runs are serialised with flock; a build is staged and only stamped once it works.

set -euo pipefail

readonly ACTIONLINT_VERSION=v1.7.12
readonly MODULE=github.com/rhysd/actionlint
prefix="${XDG_CACHE_HOME:-$HOME/.cache}/mailflow/actionlint-$ACTIONLINT_VERSION"
exe="$prefix/actionlint"
stamp="$prefix/.stamp"

exec 3>&1 1>&2
log() { printf 'install-actionlint: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
answer() { printf '%s\n' "$exe" >&3; exit 0; }
ready() { [[ -x $exe && -f $stamp && $(<"$stamp") == "$ACTIONLINT_VERSION" ]]; }

ready && answer
command -v go >/dev/null 2>&1 || die "Go is needed to build actionlint $ACTIONLINT_VERSION (none on PATH)"

mkdir -p "$prefix"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$prefix/.lock"
    flock 9
    ready && answer
fi

work="$(mktemp -d "$prefix/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "building actionlint $ACTIONLINT_VERSION from the Go module proxy"
start=$SECONDS
CGO_ENABLED=0 GOBIN="$work" go install -trimpath -ldflags "-s -w" \
    "$MODULE/cmd/actionlint@$ACTIONLINT_VERSION" || die "go install failed"
got="$("$work/actionlint" -version | head -n1)"
[[ $got == "$ACTIONLINT_VERSION" ]] || die "built actionlint reports '$got', expected $ACTIONLINT_VERSION"
log "built in $((SECONDS - start))s"

rm -f "$stamp"
mv -f "$work/actionlint" "$exe"
printf '%s\n' "$ACTIONLINT_VERSION" >"$stamp"
answer
