#!/usr/bin/env python3
"""Hand probe of an IAM-compatible endpoint (CreateAccessKey and friends).

Not part of the contract suite: a helper used to write targets/*/NOTES.md.
It needs botocore (for SigV4 signing only); every request goes out through
http.client so status, headers and the raw body are seen exactly.

    python3 targets/probe.py --endpoint http://127.0.0.1:PORT --ak test --sk test
    python3 targets/probe.py ... --bench 200      # CreateAccessKey+DeleteAccessKey pairs

Only loopback endpoints are accepted. Secrets are printed as REDACTED.
"""
import argparse
import http.client
import re
import sys
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CT = "application/x-www-form-urlencoded; charset=utf-8"


def redact(text):
    text = re.sub(r"(<SecretAccessKey>)[^<]*(</SecretAccessKey>)", r"\1REDACTED\2", text)
    text = re.sub(r'("SecretAccessKey"\s*:\s*")[^"]*(")', r"\1REDACTED\2", text)
    return text


class Client:
    def __init__(self, endpoint, ak, sk, region, service="iam"):
        u = urllib.parse.urlsplit(endpoint)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("refusing non-loopback endpoint")
        self.host, self.port = u.hostname, u.port
        self.endpoint = endpoint.rstrip("/")
        self.ak, self.sk, self.region, self.service = ak, sk, region, service
        self.conn = None

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return self.conn

    def send(self, params=None, method="POST", sign=True, ak=None, sk=None,
             raw_body=None, path="/", headers=None, bad_sig=False):
        """params: list of (k, v) or dict; encoded with quote (so '+' -> %2B)."""
        if params is None:
            params = {}
        items = list(params.items()) if isinstance(params, dict) else list(params)
        enc = urllib.parse.urlencode(items, quote_via=urllib.parse.quote)
        hdrs = {"Content-Type": CT} if method == "POST" else {}
        hdrs.update(headers or {})
        if method == "POST":
            url = self.endpoint + path
            body = raw_body if raw_body is not None else enc
        else:
            url = self.endpoint + path + ("?" + enc if enc else "")
            body = raw_body or ""
        if isinstance(body, str):
            body = body.encode()
        if sign:
            req = AWSRequest(method=method, url=url, data=body, headers=dict(hdrs))
            SigV4Auth(Credentials(ak or self.ak, sk or self.sk), self.service, self.region).add_auth(req)
            hdrs = dict(req.headers.items())
            if bad_sig:
                hdrs["Authorization"] = re.sub(r"Signature=([0-9a-f])", lambda m: "Signature=" + ("0" if m.group(1) != "0" else "1"), hdrs["Authorization"])
        target = url[len(self.endpoint):] or "/"
        for attempt in range(2):
            c = self._conn()
            try:
                c.request(method, target, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn = None
                if attempt:
                    raise
        if r.getheader("Connection", "").lower() == "close":
            self.conn = None
        return r.status, dict(r.getheaders()), data.decode("utf-8", "replace")


def summarize(status, headers, body):
    """One-line summary: status, error Type/Code/Message, or key facts."""
    s = body.strip()
    out = {"status": status}
    if s.startswith("{"):
        out["note"] = "JSON body: " + redact(s[:200])
        return out
    try:
        root = ET.fromstring(s.encode()) if s else None
    except ET.ParseError:
        out["note"] = "non-XML body: " + repr(redact(s[:200]))
        return out
    if root is None:
        out["note"] = "empty body"
        return out

    def find(tag):
        for el in root.iter():
            if el.tag.split("}")[-1] == tag:
                return el.text
        return None
    out["root"] = root.tag
    for t in ("Type", "Code", "Message", "UserName", "AccessKeyId", "Status", "CreateDate", "RequestId"):
        v = find(t)
        if v is not None:
            out[t] = v
    sec = find("SecretAccessKey")
    if sec is not None:
        out["secret_len"] = len(sec)
        out["secret_charset_ok"] = bool(re.fullmatch(r"[A-Za-z0-9+/]*", sec))
    return out


def fmt(o):
    parts = [str(o.get("status"))]
    for k in ("Type", "Code", "Message", "UserName", "AccessKeyId", "Status", "CreateDate", "secret_len", "secret_charset_ok", "note"):
        if k in o:
            parts.append(f"{k}={o[k]!r}")
    return " ".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--ak", default="test")
    ap.add_argument("--sk", default="test")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--prefix", default="p" + uuid.uuid4().hex[:6])
    ap.add_argument("--bench", type=int, default=0)
    ap.add_argument("--skip-cases", action="store_true")
    ap.add_argument("--auth-check", action="store_true",
                    help="does an Inactive key still authenticate? (run with auth on)")
    ap.add_argument("--enable-auth", default="",
                    help="PATH:BODY to POST (text/plain) between auth-check setup and checks, e.g. /moto-api/reset-auth:0")
    a = ap.parse_args()
    c = Client(a.endpoint, a.ak, a.sk, a.region)
    V = "2010-05-08"
    P = a.prefix

    def call(action, label, raw=False, **params):
        p = {"Action": action, "Version": V}
        p.update(params)
        st, h, b = c.send(p)
        o = summarize(st, h, b)
        print(f"| {label} | {fmt(o)} |")
        if raw:
            RAWS.append((label, st, h, b))
        return st, h, b, o

    RAWS = []
    if not a.skip_cases:
        print(f"prefix={P}\n")
        print("| case | result |\n|---|---|")
        u1 = P + "u1"
        call("CreateUser", "CreateUser u1", raw=True, UserName=u1)
        st, h, b, o = call("CreateAccessKey", "CreateAccessKey u1 (key 1)", raw=True, UserName=u1)
        k1 = o.get("AccessKeyId")
        call("CreateAccessKey", "CreateAccessKey u1 (key 2)", UserName=u1)
        call("CreateAccessKey", "CreateAccessKey u1 (key 3, quota)", raw=True, UserName=u1)
        call("CreateAccessKey", "CreateAccessKey no UserName (signed with root/admin creds)", raw=True)
        call("CreateAccessKey", "CreateAccessKey nonexistent user", raw=True, UserName=P + "nobody")
        call("CreateAccessKey", "CreateAccessKey UserName='' (present, empty)", UserName="")
        for ch in "+=,.@-_":
            n = P + "a" + ch + "b"
            call("CreateUser", f"CreateUser {n!r}", UserName=n)
            call("CreateAccessKey", f"CreateAccessKey {n!r}", UserName=n)
        # raw '+' in the form body (decodes to space per form rules)
        st, h, b = c.send(raw_body=f"Action=CreateAccessKey&Version={V}&UserName={P}a+b")
        print(f"| CreateAccessKey raw body 'UserName={P}a+b' (unencoded +) | {fmt(summarize(st, h, b))} |")
        call("CreateUser", "CreateUser UserName=''", UserName="")
        n64 = (P + "x" * 64)[:64]
        n65 = (P + "y" * 65)[:65]
        n128 = (P + "z" * 128)[:128]
        n129 = (P + "w" * 129)[:129]
        call("CreateUser", "CreateUser 64 chars", UserName=n64)
        call("CreateAccessKey", "CreateAccessKey 64 chars (existing)", UserName=n64)
        call("CreateUser", "CreateUser 65 chars", UserName=n65)
        call("CreateAccessKey", "CreateAccessKey 65 chars", UserName=n65)
        call("CreateAccessKey", "CreateAccessKey 128 chars", UserName=n128)
        call("CreateAccessKey", "CreateAccessKey 129 chars", raw=True, UserName=n129)
        for n in (P + "é", P + "ユ", P + "a b"):
            call("CreateUser", f"CreateUser {n!r}", UserName=n)
            call("CreateAccessKey", f"CreateAccessKey {n!r}", UserName=n)
        call("CreateAccessKey", "CreateAccessKey 129 chars + bad char (2 violations?)", UserName=("!" * 129))
        call("CreateUser", "CreateUser upper-case duplicate of u1", raw=True, UserName=u1.upper())
        call("CreateUser", "CreateUser exact duplicate of u1", UserName=u1)
        u2 = P + "u2"
        call("CreateUser", "CreateUser u2", UserName=u2)
        call("CreateAccessKey", "CreateAccessKey u2", UserName=u2)
        call("DeleteUser", "DeleteUser u2 while a key exists", raw=True, UserName=u2)
        call("GetUser", "GetUser u2 afterwards", UserName=u2)
        st, h, b, o = call("ListAccessKeys", "ListAccessKeys u1", UserName=u1)
        print(f"| ListAccessKeys contains SecretAccessKey element? | {'SecretAccessKey' in b} |")
        RAWS.append(("ListAccessKeys u1", st, h, b))
        call("ListAccessKeys", "ListAccessKeys nonexistent user", UserName=P + "nobody")
        if k1:
            call("UpdateAccessKey", "UpdateAccessKey key1 Inactive", UserName=u1, AccessKeyId=k1, Status="Inactive")
            call("UpdateAccessKey", "UpdateAccessKey key1 Status=Bogus", UserName=u1, AccessKeyId=k1, Status="Bogus")
            call("CreateAccessKey", "CreateAccessKey u1 after one key inactive (still 2 keys)", UserName=u1)
            call("DeleteAccessKey", "DeleteAccessKey key1", UserName=u1, AccessKeyId=k1)
            call("DeleteAccessKey", "DeleteAccessKey key1 again", raw=True, UserName=u1, AccessKeyId=k1)
        call("DeleteAccessKey", "DeleteAccessKey bogus id", UserName=u1, AccessKeyId="AKIAIOSFODNN7EXAMPLE")
        # protocol-level
        st, h, b = c.send({"Action": "NoSuchAction", "Version": V})
        print(f"| unknown Action | {fmt(summarize(st, h, b))} |")
        RAWS.append(("unknown Action", st, h, b))
        st, h, b = c.send({"Version": V, "UserName": u1})
        print(f"| missing Action | {fmt(summarize(st, h, b))} |")
        RAWS.append(("missing Action", st, h, b))
        st, h, b = c.send({"Action": "CreateAccessKey", "Version": "2099-01-01", "UserName": P + "nobody"})
        print(f"| bad Version (2099-01-01), nonexistent user | {fmt(summarize(st, h, b))} |")
        st, h, b = c.send({"Action": "CreateAccessKey", "UserName": P + "nobody"})
        print(f"| no Version, nonexistent user | {fmt(summarize(st, h, b))} |")
        st, h, b = c.send({"Action": "ListUsers", "Version": V}, method="GET")
        print(f"| GET ?Action=ListUsers (signed) | {fmt(summarize(st, h, b))} |")
        st, h, b = c.send({"Action": "CreateAccessKey", "Version": V, "UserName": P + "a.b"}, method="GET")
        print(f"| GET ?Action=CreateAccessKey&UserName=a.b (signed) | {fmt(summarize(st, h, b))} |")
        # auth
        st, h, b = c.send({"Action": "CreateAccessKey", "Version": V, "UserName": P + "a.b"}, sign=False)
        print(f"| unsigned CreateAccessKey | {fmt(summarize(st, h, b))} |")
        RAWS.append(("unsigned", st, h, b))
        st, h, b = c.send({"Action": "ListUsers", "Version": V}, bad_sig=True)
        print(f"| ListUsers, wrong signature | {fmt(summarize(st, h, b))} |")
        RAWS.append(("wrong signature", st, h, b))
        st, h, b = c.send({"Action": "ListUsers", "Version": V}, ak="AKIAUNKNOWNKEY000000", sk="x" * 40)
        print(f"| ListUsers, unknown access key id | {fmt(summarize(st, h, b))} |")
        st, h, b = c.send({"Action": "ListUsers", "Version": V}, sk=a.sk + "x")
        print(f"| ListUsers, right key id wrong secret | {fmt(summarize(st, h, b))} |")
        print()
        for label, st, h, b in RAWS:
            print(f"### raw: {label} -> HTTP {st}")
            print("headers: " + ", ".join(f"{k}: {v}" for k, v in h.items() if k.lower() in ("content-type", "x-amzn-requestid", "x-amz-request-id", "server")))
            print("```xml\n" + redact(b.strip()) + "\n```")

    if a.auth_check:
        u = P + "authuser"
        pol = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
        print("auth-check setup:")
        for p in ({"Action": "CreateUser", "UserName": u},
                  {"Action": "PutUserPolicy", "UserName": u, "PolicyName": "all", "PolicyDocument": pol}):
            p["Version"] = V
            print("  ", p["Action"], fmt(summarize(*c.send(p))))
        keys = []
        for i in range(2):
            st, h, b = c.send({"Action": "CreateAccessKey", "Version": V, "UserName": u})
            kid = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", b).group(1)
            sec = re.search(r"<SecretAccessKey>([^<]+)</SecretAccessKey>", b).group(1)
            keys.append((kid, sec))
        (ka, sa), (kb, sb) = keys
        print("   UpdateAccessKey A Inactive:", fmt(summarize(*c.send({"Action": "UpdateAccessKey", "Version": V, "UserName": u, "AccessKeyId": ka, "Status": "Inactive"}))))
        if a.enable_auth:
            path, _, body = a.enable_auth.partition(":")
            st, h, b = c.send(raw_body=body, path=path, sign=False, headers={"Content-Type": "text/plain"})
            print(f"   POST {path} {body!r} -> {st} {b[:100]!r}")
        print("| auth case | result |\n|---|---|")
        lu = {"Action": "ListUsers", "Version": V}
        for label, kw in (("signed with active key B", dict(ak=kb, sk=sb)),
                          ("signed with INACTIVE key A", dict(ak=ka, sk=sa)),
                          ("signed with admin creds", {}),
                          ("unsigned", dict(sign=False)),
                          ("active key B, wrong signature", dict(ak=kb, sk=sb, bad_sig=True)),
                          ("active key B, wrong secret", dict(ak=kb, sk=sb + "x")),
                          ("unknown key id", dict(ak="AKIAUNKNOWNKEY000000", sk="x" * 40))):
            st, h, b = c.send(lu, **kw)
            print(f"| ListUsers {label} | {fmt(summarize(st, h, b))} |")
            if label in ("unsigned", "active key B, wrong signature", "signed with INACTIVE key A"):
                RAWS.append((label, st, h, b))
        st, h, b = c.send({"Action": "CreateAccessKey", "Version": V}, ak=kb, sk=sb)
        print(f"| CreateAccessKey without UserName, signed by user's key B | {fmt(summarize(st, h, b))} |")
        for label, st, h, b in RAWS:
            print(f"### raw: {label} -> HTTP {st}")
            print("```xml\n" + redact(b.strip()) + "\n```")

    if a.bench:
        bu = P + "bench"
        c.send({"Action": "CreateUser", "Version": V, "UserName": bu})
        n = 0
        t0 = time.time()
        errors = 0
        shapes = set()
        for i in range(a.bench):
            st, h, b = c.send({"Action": "CreateAccessKey", "Version": V, "UserName": bu})
            m = re.search(r"<AccessKeyId>([^<]+)</AccessKeyId>", b)
            ms = re.search(r"<SecretAccessKey>([^<]+)</SecretAccessKey>", b)
            n += 1
            if m and ms:
                kid, sec = m.group(1), ms.group(1)
                shapes.add((len(kid), kid[:4], bool(re.fullmatch(r"[A-Z0-9]+", kid)),
                            len(sec), bool(re.fullmatch(r"[A-Za-z0-9+/]+", sec))))
            if st != 200 or not m:
                errors += 1
                if errors < 3:
                    print("bench error", st, redact(b[:300]))
                continue
            st, h, b = c.send({"Action": "DeleteAccessKey", "Version": V, "UserName": bu, "AccessKeyId": m.group(1)})
            n += 1
            if st != 200:
                errors += 1
            if time.time() - t0 > 110:
                break
        dt = time.time() - t0
        print("key shapes (id_len, id_prefix, id_is_[A-Z0-9], secret_len, secret_is_[A-Za-z0-9+/]):", sorted(shapes))
        print(f"bench: {n} requests in {dt:.2f}s = {n/dt:.0f} req/s ({errors} errors)")


if __name__ == "__main__":
    main()
