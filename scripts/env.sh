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
# - gives `pulumi` the published passphrase of the `local` stack whenever a command works on that
#   stack, even with PULUMI_CONFIG_PASSPHRASE exported for another one, and never to any other
#   stack (which asks for its own, or takes PULUMI_CONFIG_PASSPHRASE).
#
# Provider plugins: both provider SDKs are installed, and before every run the engine would fetch
# the plugin of each (the Azure Native one is hundreds of megabytes), although a stack uses at most
# one and the local stack none. So the engine skips that step (PULUMI_OPTION_SKIP_PLUGIN_PRE_INSTALL,
# the environment form of --skip-plugin-pre-install) and starts only the plugin the program asks
# for, and it downloads nothing unless you say so beforehand: a run that needs a missing plugin
# stops with the `pulumi plugin install resource ...` command that installs it. Export
# PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=false before sourcing this to let it download that
# one plugin instead.

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
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="${PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION:-true}"
export PULUMI_OPTION_SKIP_PLUGIN_PRE_INSTALL=true

# The stack the pulumi command line "$@" names, if it names one: the value of --stack/-s wherever it
# stands, else the stack operand of `pulumi stack init|select|rm` (or their aliases), with flags
# anywhere around the words. The value of a flag that takes one is not a word, so it is skipped.
_mailflow_stack_named() {
    local arg expect="" count=0 command="" operand=""
    for arg in "$@"; do
        if [ -n "$expect" ]; then
            if [ "$expect" = stack ]; then
                printf '%s\n' "$arg"
                return
            fi
            expect=""
            continue
        fi
        case "$arg" in
            --stack | -s) expect=stack ;;
            --stack=* | -s=*)
                printf '%s\n' "${arg#*=}"
                return
                ;;
            --cwd | -C | --color | --verbose | -v | --tracing | --tracing-header | --otel-traces | \
                --profiling | --memprofilerate | --secrets-provider | --copy-config-from | --teams)
                expect=value
                ;;
            -*) ;;
            *)
                count=$((count + 1))
                if [ "$count" -le 2 ]; then
                    command="${command:+$command }$arg"
                elif [ "$count" = 3 ]; then
                    case "$command" in
                        "stack init" | "stack new" | "stack create" | "stack setup" | "stack select" | \
                            "stack rm" | "stack remove" | "stack delete")
                            operand="$arg"
                            ;;
                    esac
                fi
                ;;
        esac
    done
    [ -z "$operand" ] || printf '%s\n' "$operand"
}

# True when the pulumi command line "$@" works on the stack named local, however qualified
# (organization/mailflow/local): the stack it names, else the selected one.
_mailflow_on_local_stack() {
    local stack
    stack="$(_mailflow_stack_named "$@")"
    [ -n "$stack" ] || stack="$(command pulumi stack --show-name 2>/dev/null)"
    [ "${stack##*/}" = local ]
}

# The local stack's passphrase wins over an exported one: the README's new-environment steps export
# the passphrase of the stack they create, and the local stack's is published.
pulumi() {
    if _mailflow_on_local_stack "$@"; then
        PULUMI_CONFIG_PASSPHRASE=mailflow-local-only command pulumi "$@"
    else
        command pulumi "$@"
    fi
}
