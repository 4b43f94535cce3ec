#!/usr/bin/env bash
# An AWS CLI session for the proxy tests: create a user and a key, list, deactivate, delete.
# The endpoint comes from AWS_ENDPOINT_URL_IAM (set by `iam-contract proxy -- ...`).
set -euo pipefail
aws="${AWS_CLI:-aws}"
user="cli-$RANDOM$RANDOM"
"$aws" iam create-user --user-name "$user" >/dev/null
id=$("$aws" iam create-access-key --user-name "$user" --query AccessKey.AccessKeyId --output text)
"$aws" iam list-access-keys --user-name "$user" >/dev/null
"$aws" iam update-access-key --user-name "$user" --access-key-id "$id" --status Inactive
"$aws" iam delete-access-key --user-name "$user" --access-key-id "$id"
"$aws" iam delete-user --user-name "$user"
