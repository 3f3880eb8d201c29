#!/usr/bin/env bash
# Deploy (or preview) a stack. Uses a local file state backend unless you are logged in elsewhere.
# Needs: the Pulumi CLI, AWS credentials, the AWS CLI (kubeconfig runs `aws eks get-token`).
set -euo pipefail
cd "$(dirname "$0")/.."
stack="${STACK:-dev}"
command="${1:-up}"
shift || true

for tool in pulumi aws python3; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is not installed (see README: prerequisites)" >&2; exit 1; }
done

if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami >/dev/null 2>&1; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
  echo "Using the local state backend $PULUMI_BACKEND_URL"
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "error: set PULUMI_CONFIG_PASSPHRASE (it encrypts this stack's secrets, such as the kubeconfig)" >&2
    exit 1
  fi
fi

pulumi stack select --create "$stack"
pulumi "$command" --stack "$stack" "$@"
