"""The proxy benchmark's boto3 driver: what a user's own client does, as fast as it can.

    python boto3_driver.py URL SECONDS TAG

Creates user bench-TAG, then creates and deletes an access key in a loop for SECONDS against
URL, deletes the user, and prints the number of requests answered. Credentials from the
environment (the emulator's example key).
"""
import sys
import time

import boto3
import botocore.config

url, seconds, tag = sys.argv[1], float(sys.argv[2]), sys.argv[3]
iam = boto3.client(
    "iam",
    endpoint_url=url,
    region_name="us-east-1",
    config=botocore.config.Config(retries={"max_attempts": 1}),
)
user = f"bench-{tag}"
iam.create_user(UserName=user)
sent = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    iam.delete_access_key(UserName=user, AccessKeyId=key)
    sent += 2
iam.delete_user(UserName=user)
print(sent)
