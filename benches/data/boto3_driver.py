"""The proxy benchmark's boto3 driver: what a user's own client does, as fast as it can.

    python boto3_driver.py SECONDS TAG BLOCK URL [URL...]

One boto3 client per URL, each with its own user bench-TAG-I. For SECONDS it takes the URLs in
turn, BLOCK create-and-delete-a-key pairs on each before moving to the next, and times each
block, so every URL is measured in the same moments as the others and a slow second of the
machine falls on all of them alike. Deletes the users and prints one line per URL:
`REQUESTS NANOSECONDS` (the requests answered and the time spent on them). Credentials from the
environment (the emulator's example key).
"""
import sys
import time

import boto3
import botocore.config

seconds, tag, block, urls = float(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
config = botocore.config.Config(retries={"max_attempts": 1})
clients = [
    boto3.client("iam", endpoint_url=u, region_name="us-east-1", config=config) for u in urls
]
users = [f"bench-{tag}-{i}" for i in range(len(urls))]
for iam, user in zip(clients, users):
    iam.create_user(UserName=user)
sent = [0] * len(urls)
spent = [0] * len(urls)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    for i, (iam, user) in enumerate(zip(clients, users)):
        start = time.perf_counter_ns()
        for _ in range(block):
            key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
            iam.delete_access_key(UserName=user, AccessKeyId=key)
        spent[i] += time.perf_counter_ns() - start
        sent[i] += 2 * block
for iam, user in zip(clients, users):
    iam.delete_user(UserName=user)
for n, ns in zip(sent, spent):
    print(n, ns)
