"""Setup for the fakecloud-auth target: runs against a freshly started fakecloud on loopback,
started with --verify-sigv4 --iam strict.

Signing as fakecloud's root identity test/test (which bypasses signature checking and policy
evaluation), it creates an IAM user with an inline Allow-everything policy and a key for it, and
prints the key as `access_key_id=` / `secret_access_key=` lines for the harness, which reads them
from the pipe and never prints them. The suite then signs with that key, whose signatures
fakecloud verifies and whose policy it evaluates.

Usage: python setup.py URL   (URL must be a 127.0.0.1 address; nothing else is contacted)
"""
import json
import sys
import urllib.parse

import boto3
from botocore.config import Config

url = sys.argv[1]
if urllib.parse.urlparse(url).hostname != "127.0.0.1":
    sys.exit(f"setup.py: refusing a non-loopback endpoint {url!r}")

iam = boto3.client(
    "iam",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    # setup.sh unsets the proxy variables: no proxy may see these requests or the key.
    config=Config(retries={"max_attempts": 2}),
)
user = "iam-contract-admin"
iam.create_user(UserName=user)
iam.put_user_policy(
    UserName=user,
    PolicyName="allow-everything",
    PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    ),
)
key = iam.create_access_key(UserName=user)["AccessKey"]
print(f"access_key_id={key['AccessKeyId']}")
print(f"secret_access_key={key['SecretAccessKey']}")
