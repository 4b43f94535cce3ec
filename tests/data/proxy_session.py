"""A boto3 client session for the proxy tests and CI: what a service's own test suite might do.

    python proxy_session.py conforming|deviations

Reads the endpoint from AWS_ENDPOINT_URL_IAM (as `iam-contract proxy -- ...` sets it) and the
credentials from the environment. Every call is made whatever the previous one answered (a
deviation is the proxy's to judge, not this script's), and everything it creates is deleted.
When IAM_CONTRACT_SECRETS_OUT names a file, the secrets it was given are appended there, so a
test can run the secret tripwire over the recording.
"""
import os
import sys
import uuid

import boto3
import botocore.config
from botocore.exceptions import ClientError

iam = boto3.client(
    "iam",
    region_name="us-east-1",
    config=botocore.config.Config(retries={"max_attempts": 1}),
)
secrets_out = os.environ.get("IAM_CONTRACT_SECRETS_OUT")


def call(name, **kw):
    try:
        out = getattr(iam, name)(**kw)
    except ClientError as e:
        print(f"{name}: {e.response['Error']['Code']}")
        return None
    key = out.get("AccessKey", {})
    if secrets_out and "SecretAccessKey" in key:
        with open(secrets_out, "a") as f:
            f.write(key["SecretAccessKey"] + "\n")
    print(f"{name}: ok")
    return out


user = "proxy-" + uuid.uuid4().hex[:8]
mode = sys.argv[1] if len(sys.argv) > 1 else "conforming"
call("create_user", UserName=user)
if mode == "conforming":
    ids = []
    for _ in range(3):  # the third is past the quota of 2
        out = call("create_access_key", UserName=user)
        if out:
            ids.append(out["AccessKey"]["AccessKeyId"])
    call("list_access_keys", UserName=user)
    if ids:
        call("update_access_key", UserName=user, AccessKeyId=ids[0], Status="Inactive")
    call("create_access_key", UserName="no-such-" + user)
    call("delete_user", UserName=user)  # refused: the user holds keys
    for i in ids:
        call("delete_access_key", UserName=user, AccessKeyId=i)
    call("delete_user", UserName=user)
else:
    call("create_access_key", UserName="a" * 129)  # longer than any name may be
    call("create_access_key", UserName=user)
    call("delete_user", UserName=user)  # with a key: must be refused
    for k in (call("list_access_keys", UserName=user) or {}).get("AccessKeyMetadata", []):
        call("delete_access_key", UserName=user, AccessKeyId=k["AccessKeyId"])
    call("delete_user", UserName=user)
