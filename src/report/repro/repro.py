#!/usr/bin/env python3
# Standalone reproduction of one iam-contract finding, with botocore only (SigV4Auth over the
# exact wire text) and Python's standard library for HTTP (http.client: no redirect is followed).
#
#   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... python3 repro.py [ENDPOINT]
#
# The endpoint is the first argument, else AWS_ENDPOINT_URL. Exit codes: 0 the rule holds (the
# deviation is fixed), 1 the deviation holds, 2 the rule could not be judged (no response, a
# set-up step failed, missing credentials). Users the script needs are created fresh with a
# unique name and deleted at the end, with their keys. No secret is printed: SecretAccessKey
# elements are redacted from every body shown.
import datetime, hashlib, http.client, os, re, secrets, sys, urllib.parse

try:
    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("repro.py needs botocore (pip install botocore)", file=sys.stderr)
    sys.exit(2)

# @@CASE@@

VERSION = "2010-05-08"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
ENDPOINT = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AWS_ENDPOINT_URL", "")).rstrip("/")
AK = os.environ.get("AWS_ACCESS_KEY_ID", "")
SK = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
if not ENDPOINT or not AK or not SK:
    print("usage: AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... python3 repro.py ENDPOINT", file=sys.stderr)
    sys.exit(2)
# A fresh name prefix of the run prefix's length, so every name keeps its length.
NEW_PREFIX = "rpx" + secrets.token_hex(4)
CREATED_USERS = []
STRAY_KEYS = []


class CannotJudge(Exception):
    pass


def fresh(text):
    return text.replace(OLD_PREFIX, NEW_PREFIX) if OLD_PREFIX else text


def shown(body):
    text = body.decode("utf-8", "replace")
    text = re.sub(r"(<SecretAccessKey>)[^<]*", r"\1(redacted)", text)
    return "".join(c if c in "\n\t" or 32 <= ord(c) < 127 else "\\x%02x" % ord(c) if ord(c) < 256 else c for c in text)[:4000]


def send(method, wire, signing="sigv4", creds=None, quiet=False):
    """Sends one request; returns (status, body bytes)."""
    ak, sk = creds or (AK, SK)
    service, region, skew = "iam", "us-east-1", 0
    if signing == "wrong-secret":
        sk = sk + "x"
    elif signing == "unknown-key":
        ak, sk = "AKIA" + NEW_PREFIX.upper(), "unknown-key-secret-0000000000000000000000"
    elif signing.startswith("scope:"):
        service, region = signing[len("scope:"):].split("/", 1)
    elif signing.startswith("skewed:"):
        skew = int(signing[len("skewed:"):].rstrip("s"))
    url = ENDPOINT + "/"
    body = wire.encode()
    headers = {}
    if method in ("GET", "HEAD"):
        url, body = ENDPOINT + "/?" + wire, b""
    else:
        headers["Content-Type"] = FORM
    if signing != "unsigned":
        req = AWSRequest(method=method, url=url, data=body, headers=headers)
        real_now = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda: real_now() + datetime.timedelta(seconds=skew)
        try:
            SigV4Auth(Credentials(ak, sk), service, region).add_auth(req)
        finally:
            botocore.auth.get_current_datetime = real_now
        headers = dict(req.headers.items())
        if signing == "corrupted":
            auth = headers["Authorization"]
            i = auth.index("Signature=") + len("Signature=")
            headers["Authorization"] = auth[:i] + "0" * (len(auth) - i)
    parts = urllib.parse.urlsplit(url)
    conn_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_type(parts.hostname, parts.port, timeout=30)
    path = parts.path + ("?" + parts.query if parts.query else "")
    try:
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        status, data = resp.status, resp.read()
    except OSError as e:
        raise CannotJudge("no response from %s: %s" % (ENDPOINT, e))
    finally:
        conn.close()
    if not quiet:
        print("> %s %s (signing: %s)" % (method, url if method in ("GET", "HEAD") else ENDPOINT + "/", signing))
        if method not in ("GET", "HEAD"):
            print("> " + wire)
        print("< HTTP %d" % status)
        print("< " + shown(data))
    return status, data


def call(action, signing="sigv4", creds=None, quiet=True, **params):
    wire = urllib.parse.urlencode([("Action", action), ("Version", VERSION)] + list(params.items()), quote_via=urllib.parse.quote, safe="-_.~")
    return send("POST", wire, signing, creds, quiet)


def text_of(body, name):
    m = re.search(rb"<" + name.encode() + rb">([^<]*)</" + name.encode() + rb">", body)
    return m.group(1).decode("utf-8", "replace") if m else None


def create_user(name):
    CREATED_USERS.append(name)
    status, body = call("CreateUser", UserName=name)
    if status != 200:
        raise CannotJudge("set-up: CreateUser %s answered HTTP %d %s" % (name, status, text_of(body, "Code") or ""))


def create_key(user):
    status, body = call("CreateAccessKey", UserName=user)
    key_id, secret = text_of(body, "AccessKeyId"), text_of(body, "SecretAccessKey")
    if status != 200 or not key_id or not secret:
        raise CannotJudge("set-up: CreateAccessKey for %s answered HTTP %d" % (user, status))
    return key_id, secret


def key_ids(user):
    status, body = call("ListAccessKeys", UserName=user)
    return [m.decode() for m in re.findall(rb"<AccessKeyId>([^<]*)</AccessKeyId>", body)] if status == 200 else []


def cleanup():
    for user, key in STRAY_KEYS:
        try:
            call("DeleteAccessKey", UserName=user, AccessKeyId=key)
        except CannotJudge:
            pass
    for user in reversed(CREATED_USERS):
        try:
            for key in key_ids(user):
                call("DeleteAccessKey", UserName=user, AccessKeyId=key)
            call("DeleteUser", UserName=user)
        except CannotJudge:
            pass


def well_formed(body):
    import xml.etree.ElementTree as ET
    try:
        ET.fromstring(body)
        return True
    except ET.ParseError:
        return False


def root_of(body):
    m = re.search(rb"<([A-Za-z][\w:.-]*)", re.sub(rb"<\?.*?\?>", b"", body, flags=re.S))
    return m.group(1).decode() if m else None


def status_ok(status, want):
    if want == "4xx":
        return 400 <= status < 500
    if want == "<500":
        return status < 500
    return want == "" or status == int(want)


def judge_wire():
    """Sends the case and judges it by the finding's rule; returns (holds, what was observed)."""
    user = fresh(SETUP_USER) if SETUP_USER else None
    signer = None
    if CLEANUP_USER:
        CREATED_USERS.append(fresh(CLEANUP_USER))
    if user:
        create_user(user)
        for i in range(SETUP_KEYS):
            key_id, _ = create_key(user)
            if i == 0 and INACTIVATE_FIRST:
                call("UpdateAccessKey", UserName=user, AccessKeyId=key_id, Status="Inactive")
    if SIGNER_USER:
        create_user(fresh(SIGNER_USER))
        signer = create_key(fresh(SIGNER_USER))
    wire = fresh(WIRE)
    status, body = send(METHOD, wire, "sigv4" if signer else SIGNING, signer)
    code, message, fault = text_of(body, "Code"), text_of(body, "Message"), text_of(body, "Type")
    made, owner = text_of(body, "AccessKeyId"), text_of(body, "UserName")
    if status == 200 and made and owner and owner not in CREATED_USERS:
        STRAY_KEYS.append((owner, made))
    observed = "HTTP %d%s" % (status, " " + code if code else "")
    if CHECK == "status":
        holds = status_ok(status, WANT_STATUS) and (not WANT_CODE or code == WANT_CODE) and (not WANT_TYPE or fault == WANT_TYPE)
        if WANT_WELL_FORMED:
            holds = holds and well_formed(body)
            observed += ", body %s" % ("well-formed" if well_formed(body) else "not well-formed XML")
    elif CHECK == "no-key":
        keys = key_ids(user)
        observed += ", %d key(s) listed for %s afterwards" % (len(keys), user)
        holds = status_ok(status, WANT_STATUS) and (not WANT_CODE or code == WANT_CODE) and not keys
    elif CHECK == "well-formed":
        holds = well_formed(body)
        observed += ", body %s" % ("well-formed" if holds else "not well-formed XML")
    elif CHECK == "request-id":
        rid = text_of(body, "RequestId")
        holds = bool(rid)
        observed += ", RequestId %r" % rid
    elif CHECK == "error-envelope":
        problems = []
        if status >= 400:
            if not well_formed(body) or root_of(body) != "ErrorResponse":
                problems.append("no ErrorResponse envelope (root %r)" % root_of(body))
            if not code:
                problems.append("no Code")
            if not fault:
                problems.append("no Type")
            if code in ERRORS:
                want_status, want_type = ERRORS[code]
                if status != want_status:
                    problems.append("HTTP %d for %s, expected %d" % (status, code, want_status))
                if fault != want_type:
                    problems.append("Type %r for %s, expected %s" % (fault, code, want_type))
        holds = not problems
        observed += "; " + "; ".join(problems) if problems else ""
    elif CHECK == "message-nonempty":
        holds = status >= 400 and well_formed(body) and bool((message or "").strip())
        observed += ", Message %r" % message
    elif CHECK == "message-contains":
        holds = fresh(WANT_TEXT) in (message or "")
        observed += ", Message %r" % message
    elif CHECK == "message-equals":
        holds = status_ok(status, WANT_STATUS) and code == WANT_CODE and message == fresh(WANT_TEXT)
        observed += ", Message %r" % message
    elif CHECK == "created-key":
        got = text_of(body, "UserName")
        holds = status == 200 and text_of(body, "AccessKeyId") is not None and got == fresh(WANT_USER)
        observed += ", AccessKey.UserName %r" % got
    elif CHECK == "output" and 400 <= status < 500:
        # Output rules judge success answers only: a refusal has no output to break (the case
        # may have been accepted only because of another deviation).
        holds = True
        observed += ", a refusal: no success answer for the output rule to judge"
    elif CHECK == "output":
        if status != 200:
            raise CannotJudge("the request did not succeed (%s), so its output cannot be judged" % observed)
        holds, what = judge_output(body, fresh(WANT_USER))
        observed += ", " + what
    elif CHECK == "same-twice":
        status2, body2 = send(METHOD, wire, SIGNING)
        code2 = text_of(body2, "Code")
        holds = status == status2 and code == code2 and 400 <= status < 500
        observed = "HTTP %d %s, then HTTP %d %s" % (status, code, status2, code2)
    else:
        raise CannotJudge("no check named %r" % CHECK)
    return holds, observed


def judge_output(body, user):
    key_id = text_of(body, "AccessKeyId") or ""
    secret = text_of(body, "SecretAccessKey") or ""
    status = text_of(body, "Status")
    date = text_of(body, "CreateDate")
    if OUTPUT == "envelope":
        # The envelope of the action the case sent (CreateAccessKey, GetUser, ...).
        act = dict(urllib.parse.parse_qsl(WIRE, keep_blank_values=True)).get("Action", "")
        ok = root_of(body) == act + "Response" and b'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"' in body and (act.startswith(("Delete", "Update")) or ("<%sResult>" % act).encode() in body)
        return ok, "root %r" % root_of(body)
    if OUTPUT == "status-active":
        return status == "Active", "Status %r" % status
    if OUTPUT == "user-name-echo":
        got = text_of(body, "UserName")
        return got == user, "AccessKey.UserName %r, sent %r" % (got, user)
    if OUTPUT == "create-date":
        try:
            when = datetime.datetime.fromisoformat((date or "").replace("Z", "+00:00"))
            off = abs((when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())
            return off <= 900, "CreateDate %r, %d s from now" % (date, off)
        except ValueError:
            return False, "CreateDate %r is not ISO 8601" % date
    if OUTPUT == "key-id":
        return bool(re.fullmatch(r"AKIA[A-Z0-9]{16}", key_id)), "AccessKeyId %r" % key_id
    if OUTPUT == "secret":
        return bool(re.fullmatch(r"[A-Za-z0-9+/]{40}", secret)), "a secret of %d characters" % len(secret)
    if OUTPUT == "schema":
        problems = []
        if not re.fullmatch(r"\w{16,128}", key_id, re.A):
            problems.append("AccessKeyId %r" % key_id)
        if status not in ("Active", "Inactive", "Expired"):
            problems.append("Status %r" % status)
        if not secret:
            problems.append("no SecretAccessKey")
        name = text_of(body, "UserName") or ""
        if not re.fullmatch(r"[\w+=,.@-]{1,64}", name, re.A):
            problems.append("UserName %r" % name)
        return not problems, "; ".join(problems) or "the required members present and valid"
    raise CannotJudge("no output check named %r" % OUTPUT)


def main():
    print("%s: %s" % (RULE, TITLE))
    print("expected: " + fresh(EXPECTED))
    if NOT_STANDALONE:
        print("CANNOT JUDGE %s: %s" % (RULE, NOT_STANDALONE))
        return 2
    try:
        if SEQUENCE:
            holds, observed = judge_sequence()
        else:
            holds, observed = judge_wire()
    except CannotJudge as e:
        print("CANNOT JUDGE %s: %s" % (RULE, e))
        return 2
    finally:
        cleanup()
    if holds:
        print("HOLDS %s: %s" % (RULE, observed))
        return 0
    print("DEVIATION %s: expected %s; observed %s" % (RULE, fresh(EXPECTED), observed))
    return 1


# ---- lifecycle sequences -------------------------------------------------------------------

def judge_sequence():
    """Runs the sequence on fresh users; the first step that breaks RULE is the deviation."""
    users = [{"name": "%s-seq0-User%d" % (NEW_PREFIX, i), "exists": False} for i in range(3)]
    keys = []
    issued = set()
    judged = [False]
    verdict = [None]

    def judge(rule, holds, what, observed):
        if rule == RULE and verdict[0] is None:
            judged[0] = True
            if not holds:
                verdict[0] = "%s at a step where the reference model expects %s" % (observed, what)

    def live(u):
        return sum(1 for k in keys if k["user"] == u and not k["deleted"])

    for step in SEQUENCE.split():
        m = re.fullmatch(r"(\w+)\(([^)]*)\)", step)
        kind, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        n = int(args[0])
        if kind in ("CreateUser", "CreateUserOtherCase", "CreateKey", "ListKeys", "DeleteUser"):
            u = n % 3
            user = users[u]
        else:
            if n >= len(keys):
                continue
            key = keys[n]
        if kind == "CreateUser":
            CREATED_USERS.append(user["name"])
            status, body = call("CreateUser", quiet=False, UserName=user["name"])
            if not user["exists"]:
                user["exists"] = status == 200
            continue
        if kind == "CreateUserOtherCase":
            if not user["exists"]:
                continue
            swapped = user["name"].swapcase()
            CREATED_USERS.append(swapped)
            status, body = call("CreateUser", quiet=False, UserName=swapped)
            judge("lifecycle.user-names-fold-case", status == 409 and text_of(body, "Code") == "EntityAlreadyExists",
                  "409 EntityAlreadyExists for a name that differs from an existing user's only in case", "HTTP %d %s" % (status, text_of(body, "Code")))
        elif kind in ("CreateKey", "CreateKeyImplicit"):
            if kind == "CreateKey":
                status, body = call("CreateAccessKey", quiet=False, UserName=user["name"])
                implicit = None
                exists = user["exists"]
            else:
                if key["deleted"] or not key["active"]:
                    continue
                u = key["user"]
                status, body = call("CreateAccessKey", creds=(key["id"], key["secret"]), quiet=False)
                implicit = users[u]["name"]
                exists = True
            code = text_of(body, "Code")
            observed = "HTTP %d %s" % (status, code or "")
            denied = implicit and status == 403 and code == "AccessDenied"
            if denied:
                msg = text_of(body, "Message") or ""
                named = re.search(r"on resource: (?:user (\S+)|arn:[^ ]*:user/(?:[^ ]*/)?([^ /]+))", msg)
                if named:
                    who = named.group(1) or named.group(2)
                    judge("lifecycle.implicit-user-is-signer", who.lower() == implicit.lower(),
                          "a CreateAccessKey without UserName to act on the signing user %r" % implicit, "AccessDenied names %r" % who)
            elif exists:
                if live(u) >= 2:
                    judge("lifecycle.quota-counts-inactive", status == 409 and code == "LimitExceeded",
                          "409 LimitExceeded: the user already holds 2 keys", observed)
                elif implicit and status != 200:
                    judge("lifecycle.implicit-user-is-signer", False, "200 and a key for the signing user", observed)
                else:
                    judge("lifecycle.quota-counts-inactive", status == 200, "200: the user holds %d of 2 keys" % live(u), observed)
            key_id, secret = text_of(body, "AccessKeyId"), text_of(body, "SecretAccessKey")
            if status == 200 and key_id:
                got = text_of(body, "UserName")
                if implicit:
                    judge("lifecycle.implicit-user-is-signer", got == implicit, "the key to go to the signing user %r" % implicit, "it went to %r" % got)
                judge("lifecycle.ids-unique-and-never-reused", key_id not in issued, "an AccessKeyId never issued before", "%s again" % key_id)
                issued.add(key_id)
                keys.append({"id": key_id, "secret": secret, "user": u, "active": True, "deleted": False, "date": text_of(body, "CreateDate")})
            continue
        elif kind == "ListKeys":
            if not user["exists"]:
                continue
            status, body = call("ListAccessKeys", quiet=False, UserName=user["name"])
            leak = b"<SecretAccessKey>" in body or any(k["secret"] and k["secret"].encode() in body for k in keys)
            judge("lifecycle.secret-only-at-creation", not leak, "no secret in a ListAccessKeys response", "a secret was listed")
            members = re.findall(rb"<member>(.*?)</member>", body, re.S)
            got = sorted((text_of(mb, "AccessKeyId"), text_of(mb, "Status")) for mb in members)
            want = sorted((k["id"], "Active" if k["active"] else "Inactive") for k in keys if k["user"] == u and not k["deleted"])
            dead = {k["id"] for k in keys if k["deleted"]}
            if any(i in dead for i, _ in got):
                judge("lifecycle.ids-unique-and-never-reused", False, "a deleted key never to be listed again", "listed %r" % got)
            else:
                judge("lifecycle.list-matches-model", status == 200 and got == want, "ListAccessKeys to list exactly %r" % want, "HTTP %d listing %r" % (status, got))
            for mb in members:
                k = next((k for k in keys if k["id"] == text_of(mb, "AccessKeyId")), None)
                listed = text_of(mb, "CreateDate")
                if k and k["date"] and listed:
                    def instant(d):
                        return datetime.datetime.fromisoformat(d.replace("Z", "+00:00")).replace(microsecond=0)
                    try:
                        same = instant(k["date"]) == instant(listed)
                    except ValueError:
                        same = k["date"] == listed
                    judge("lifecycle.create-date-stable", same, "CreateDate of %s to stay %r" % (k["id"], k["date"]), "listed as %r" % listed)
            continue
        elif kind == "UpdateKey":
            if key["deleted"]:
                continue
            active = args[1] == "Active"
            status, body = call("UpdateAccessKey", quiet=False, UserName=users[key["user"]]["name"], AccessKeyId=key["id"], Status="Active" if active else "Inactive")
            if status == 200:
                key["active"] = active
            else:
                judge("lifecycle.list-matches-model", False, "200 for UpdateAccessKey on a live key", "HTTP %d" % status)
        elif kind == "DeleteKey":
            if not users[key["user"]]["exists"]:
                continue
            status, body = call("DeleteAccessKey", quiet=False, UserName=users[key["user"]]["name"], AccessKeyId=key["id"])
            if key["deleted"]:
                judge("lifecycle.ids-unique-and-never-reused", status == 404, "404 NoSuchEntity for a key deleted before", "HTTP %d" % status)
            elif status == 200:
                key["deleted"] = True
            else:
                judge("lifecycle.list-matches-model", False, "200 for DeleteAccessKey on a live key", "HTTP %d" % status)
        elif kind == "DeleteUser":
            if not user["exists"]:
                continue
            status, body = call("DeleteUser", quiet=False, UserName=user["name"])
            if live(u) > 0:
                judge("lifecycle.delete-user-with-keys-conflicts", status == 409 and text_of(body, "Code") == "DeleteConflict",
                      "409 DeleteConflict: the user still holds keys", "HTTP %d %s" % (status, text_of(body, "Code") or ""))
                if status == 200:
                    user["exists"] = False
                    for k in keys:
                        if k["user"] == u:
                            k["deleted"] = True
            elif status == 200:
                user["exists"] = False
        elif kind == "AuthWith":
            status, body = call("GetUser", creds=(key["id"], key["secret"]), quiet=False, UserName=users[key["user"]]["name"])
            code = text_of(body, "Code")
            denied = status == 403 and code == "AccessDenied"
            if key["active"] and not key["deleted"]:
                judge("lifecycle.key-status-governs-auth", status == 200 or denied, "200 (or 403 AccessDenied) for a request signed with an Active key", "HTTP %d %s" % (status, code or ""))
            else:
                judge("lifecycle.key-status-governs-auth", status == 403 and not denied,
                      "403 InvalidClientTokenId for a request signed with %s key" % ("a deleted" if key["deleted"] else "an Inactive"), "HTTP %d %s" % (status, code or ""))
        else:
            raise CannotJudge("unknown step %r" % step)
        if kind not in ("CreateKey", "CreateKeyImplicit") and (b"<SecretAccessKey>" in body):
            judge("lifecycle.secret-only-at-creation", False, "no secret in a non-create response", step)
        if verdict[0] is not None:
            break
    if verdict[0] is not None:
        return False, verdict[0]
    if not judged[0]:
        raise CannotJudge("no step of the sequence judged %s" % RULE)
    return True, "every step of %s kept %s" % (SEQUENCE, RULE)


if __name__ == "__main__":
    sys.exit(main())
