#!/usr/bin/env bash
# One entry point for every make target that talks to Pulumi, so that all of them use the same
# state backend and the same stack:
#
#   scripts/stack.sh up|preview|destroy|outputs|kubeconfig|backend [extra pulumi arguments]
#
# STACK (default dev) names the stack; it must have a Pulumi.<stack>.yaml in the project. The state
# backend is chosen here and only here (choose_backend below).
set -euo pipefail
cd "$(dirname "$0")/.."

action="${1:-}"
shift || true
stack="${STACK:-dev}"
local_state_dir=".pulumi-state"

die() { echo "error: $*" >&2; exit 1; }

# Where to get each prerequisite, printed when it is missing.
install_url() {
  case "$1" in
    pulumi) echo "https://www.pulumi.com/docs/iac/download-install/" ;;
    aws) echo "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html" ;;
    python3) echo "https://www.python.org/downloads/ (3.10 or later)" ;;
  esac
}

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed or not on PATH; install it from $(install_url "$tool")"
  done
}

# A typo must not become a new, empty stack: the stack file is the list of stacks that exist.
check_stack_file() {
  [[ "$stack" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "STACK='$stack' is not a valid stack name"
  [ -f "Pulumi.$stack.yaml" ] || die "Pulumi.$stack.yaml not found: STACK=$stack has no stack file (stacks here: $(ls Pulumi.*.yaml 2>/dev/null | sed 's/^Pulumi\.\(.*\)\.yaml$/\1/' | tr '\n' ' '))"
}

# The state backend, in this order:
#   1. PULUMI_BACKEND_URL, when set;
#   2. the local file backend .pulumi-state/, when it exists (an earlier target chose it, so every
#      later target keeps using it even if you have since logged in somewhere else);
#   3. the backend you are logged in to (`pulumi login ...`), when `pulumi whoami` succeeds;
#   4. otherwise a new local file backend in .pulumi-state/.
# To run pulumi yourself on the same backend: eval "$(make -s backend)".
choose_backend() {
  if [ -n "${PULUMI_BACKEND_URL:-}" ]; then
    backend_source="PULUMI_BACKEND_URL"
  elif [ -d "$local_state_dir" ]; then
    export PULUMI_BACKEND_URL="file://$PWD/$local_state_dir"
    backend_source="local state"
  # --non-interactive and no stdin: when nobody is logged in, whoami must fail, not start the
  # interactive Pulumi Cloud login (which would wait, invisibly, for input).
  elif pulumi --non-interactive whoami </dev/null >/dev/null 2>&1; then
    backend_source="pulumi login"
  else
    mkdir -p "$local_state_dir"
    export PULUMI_BACKEND_URL="file://$PWD/$local_state_dir"
    backend_source="local state (new)"
  fi
}

# The local backend encrypts secrets with a passphrase; without one, pulumi would prompt or fail late.
use_backend() {
  choose_backend
  if [ "${PULUMI_BACKEND_URL:-}" = "file://$PWD/$local_state_dir" ] \
     && [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    die "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts the stack's secrets, such as the kubeconfig, in $local_state_dir/"
  fi
  echo "Stack $stack, state backend: ${PULUMI_BACKEND_URL:-the one you are logged in to} ($backend_source)" >&2
}

# up and preview may create the stack in the backend (its stack file exists); the other actions
# work on a stack that is already there.
ensure_stack() {
  if ! pulumi stack select "$stack" >/dev/null 2>&1; then
    echo "Creating stack $stack in the state backend" >&2
    pulumi stack init "$stack"
  fi
}

kubeconfig_path="kubeconfig-$stack.yaml"

write_kubeconfig() {
  local tmp
  # Created 600 from the start: the file grants access to the cluster.
  tmp="$(umask 077 && mktemp "$kubeconfig_path.XXXXXX")"
  if ! pulumi stack output kubeconfig --show-secrets --stack "$stack" >"$tmp" || [ ! -s "$tmp" ]; then
    rm -f "$tmp"
    die "stack $stack has no kubeconfig output (has 'make up STACK=$stack' finished?)"
  fi
  chmod 600 "$tmp"
  mv "$tmp" "$kubeconfig_path"
  echo "Wrote $kubeconfig_path (mode 600; it runs 'aws eks get-token', so it needs the AWS CLI and credentials)." >&2
  echo "Use it: export KUBECONFIG=\$PWD/$kubeconfig_path" >&2
}

case "$action" in
  up|preview|destroy)
    check_stack_file
    require pulumi aws python3
    use_backend
    case "$action" in
      up|preview) ensure_stack ;;
    esac
    if [ "$action" = preview ]; then
      exec pulumi preview --diff --stack "$stack" "$@"
    fi
    exec pulumi "$action" --stack "$stack" "$@"
    ;;
  outputs)
    check_stack_file
    require pulumi
    use_backend
    exec pulumi stack output --stack "$stack" "$@"
    ;;
  kubeconfig)
    check_stack_file
    require pulumi aws
    use_backend
    write_kubeconfig
    ;;
  backend)
    require pulumi
    choose_backend
    if [ -n "${PULUMI_BACKEND_URL:-}" ]; then
      echo "export PULUMI_BACKEND_URL='$PULUMI_BACKEND_URL'"
    else
      echo "# the backend you are logged in to: nothing to export"
    fi
    ;;
  *)
    die "usage: STACK=<stack> $0 up|preview|destroy|outputs|kubeconfig|backend [pulumi arguments]"
    ;;
esac
