# shellcheck shell=bash
# The project's environment in an interactive shell (bash or zsh), so that the README's commands
# work as typed:
#
#   source scripts/env.sh
#
# - sets up .venv from the lock files if needed (`make setup`) and puts it first on PATH, so
#   `mailflow` and `python` are the project's;
# - puts the Pulumi CLI on PATH (an official install when there is a recent enough one, else the
#   build in ~/.cache/mailflow: see scripts/install-pulumi.sh);
# - points Pulumi at a state directory in the project (.pulumi-state), unless PULUMI_BACKEND_URL
#   is already set, and turns the update check off;
# - gives `pulumi` the published passphrase of the `local` stack, and only of that stack: a
#   command on any other stack asks for its own (or takes PULUMI_CONFIG_PASSPHRASE, if you set it).
#
# Automatic plugin downloads stay on: `pulumi preview --stack staging` fetches the Cloudflare
# plugin it needs (set PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true to be told what to install
# instead).

if [ -n "${BASH_VERSION:-}" ]; then
    MAILFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
elif [ -n "${ZSH_VERSION:-}" ]; then
    # shellcheck disable=SC2296  # zsh: the path of the file being sourced
    MAILFLOW_ROOT="$(cd "$(dirname "${(%):-%x}")/.." && pwd)"
else
    echo "scripts/env.sh: source it from bash or zsh" >&2
    return 1
fi
export MAILFLOW_ROOT

make -C "$MAILFLOW_ROOT" --no-print-directory -s setup || return 1
_mailflow_pulumi_bin="$("$MAILFLOW_ROOT/scripts/install-pulumi.sh")" || return 1

export VIRTUAL_ENV="$MAILFLOW_ROOT/.venv"
export PATH="$VIRTUAL_ENV/bin:$_mailflow_pulumi_bin:$PATH"
unset _mailflow_pulumi_bin
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    mkdir -p "$MAILFLOW_ROOT/.pulumi-state"
    export PULUMI_BACKEND_URL="file://$MAILFLOW_ROOT/.pulumi-state"
fi
export PULUMI_SKIP_UPDATE_CHECK=true

# True when the pulumi command line "$@" works on the stack named local: given with --stack/-s,
# named by `pulumi stack init|select|rm`, or else the selected stack.
_mailflow_on_local_stack() {
    local previous=""
    local arg
    for arg in "$@"; do
        case "$previous" in
            --stack | -s) [ "$arg" = local ]; return ;;
        esac
        case "$arg" in
            --stack=*) [ "${arg#--stack=}" = local ]; return ;;
        esac
        previous="$arg"
    done
    if [ "${1:-}" = stack ]; then
        case "${2:-}" in
            init | select | rm) [ "${3:-}" = local ]; return ;;
        esac
    fi
    [ "$(command pulumi stack --show-name 2>/dev/null)" = local ]
}

pulumi() {
    if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}${PULUMI_CONFIG_PASSPHRASE_FILE+set}" ] &&
        _mailflow_on_local_stack "$@"; then
        PULUMI_CONFIG_PASSPHRASE=mailflow-local-only command pulumi "$@"
    else
        command pulumi "$@"
    fi
}
