"""Setup for the moto-auth target: runs against a freshly started moto_server on loopback.

With auth off (moto's default) it creates an IAM user with an inline Allow-everything policy and
a key for it, then switches signature verification on (POST /moto-api/reset-auth, body 0) and
prints the key as `access_key_id=` / `secret_access_key=` lines for the harness, which reads
them from the pipe and never prints them. moto verifies only keys of IAM users it issued, so the
profile's `test` key stops working once auth is on.

Usage: python setup.py URL   (URL must be a 127.0.0.1 address; nothing else is contacted)
"""
import json
import sys
import urllib.parse
import urllib.request

import boto3

url = sys.argv[1]
if urllib.parse.urlparse(url).hostname != "127.0.0.1":
    sys.exit(f"setup.py: refusing a non-loopback endpoint {url!r}")

iam = boto3.client(
    "iam",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
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
req = urllib.request.Request(
    urllib.parse.urljoin(url, "/moto-api/reset-auth"),
    data=b"0",
    headers={"Content-Type": "text/plain"},
    method="POST",
)
# A loopback address: no proxy may see this request or the key.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(req, timeout=10) as resp:
    if resp.status != 200:
        sys.exit(f"setup.py: reset-auth answered HTTP {resp.status}")
print(f"access_key_id={key['AccessKeyId']}")
print(f"secret_access_key={key['SecretAccessKey']}")
