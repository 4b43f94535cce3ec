#!/usr/bin/env bash
# Standalone reproduction of one iam-contract finding with curl (7.75 or newer, for
# --aws-sigv4). Requests signed on purpose with a corrupted signature, and GET requests (curl
# 7.88 canonicalises a query string differently from SigV4), are signed by python3's standard
# library instead (hmac, hashlib: no package needed); a skewed signature is curl's own, with the
# X-Amz-Date it is given.
#
#   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... bash repro.sh [ENDPOINT]
#
# The endpoint is the first argument, else AWS_ENDPOINT_URL. Exit codes: 0 the rule holds (the
# deviation is fixed), 1 the deviation holds, 2 the rule could not be judged (no response, a
# set-up step failed, missing credentials). Users the script needs are created fresh with a
# unique name and deleted at the end (also on Ctrl-C), with their keys. Credentials reach curl
# through a config on a pipe, never the command line; SecretAccessKey elements are redacted
# from every body shown.
set -uo pipefail

# @@CASE@@

VERSION=2010-05-08
FORM='application/x-www-form-urlencoded; charset=utf-8'
ENDPOINT="${1:-${AWS_ENDPOINT_URL:-}}"
ENDPOINT="${ENDPOINT%/}"
AK="${AWS_ACCESS_KEY_ID:-}"
SK="${AWS_SECRET_ACCESS_KEY:-}"
if [ -z "$ENDPOINT" ] || [ -z "$AK" ] || [ -z "$SK" ]; then
    echo "usage: AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... bash repro.sh ENDPOINT" >&2
    exit 2
fi
# A fresh name prefix of the run prefix's length, so every name keeps its length.
NEW_PREFIX="rpx$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
WORK="$(mktemp -d)"
BODY="$WORK/body"
CREATED_USERS=()
STRAY_KEYS=()
STATUS=0

fresh() { if [ -n "$OLD_PREFIX" ]; then printf '%s' "${1//$OLD_PREFIX/$NEW_PREFIX}"; else printf '%s' "$1"; fi; }

cannot_judge() {
    echo "CANNOT JUDGE $RULE: $*"
    exit 2
}

# Percent-encodes one value the way AWS's query protocol wants it.
urlencode() {
    local s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [A-Za-z0-9._~-]) out+="$c" ;;
            *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# The text of the first <NAME> element of FILE (default: the last body).
text_of() {
    LC_ALL=C tr -d '\000\n\r' <"${2:-$BODY}" | grep -o "<$1>[^<]*</$1>" | head -n 1 | sed -e "s#</\\{0,1\\}$1>##g"
}

shown() {
    LC_ALL=C sed -e 's#\(<SecretAccessKey>\)[^<]*#\1(redacted)#g' "$1" | head -c 4000 | cat -v
    echo
}

# python3 (standard library) signs when curl cannot: prints the headers for curl -H @-.
py_sign() { # METHOD URL BODY_FILE SERVICE REGION CORRUPT KEY_ID (secret in $PY_SK)
    command -v python3 >/dev/null 2>&1 || cannot_judge "this case needs python3 to sign (a corrupted signature or a GET)"
    python3 - "$@" <<'PY'
import datetime, hashlib, hmac, os, sys, urllib.parse
method, url, body_file, service, region, corrupt, ak = sys.argv[1:8]
sk = os.environ["PY_SK"]
body = open(body_file, "rb").read()
now = datetime.datetime.now(datetime.timezone.utc)
amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
parts = urllib.parse.urlsplit(url)
host = parts.netloc
pairs = []
for item in parts.query.split("&") if parts.query else []:
    k, _, v = item.partition("=")
    q = lambda s: urllib.parse.quote(urllib.parse.unquote_to_bytes(s), safe="-_.~")
    pairs.append((q(k), q(v)))
query = "&".join("%s=%s" % kv for kv in sorted(pairs))
headers = {"host": host, "x-amz-date": amz}
if method not in ("GET", "HEAD"):
    headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8"
signed = ";".join(sorted(headers))
canonical = "\n".join([method, parts.path or "/", query, "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers)), signed, hashlib.sha256(body).hexdigest()])
scope = "%s/%s/%s/aws4_request" % (day, region, service)
to_sign = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
key = ("AWS4" + sk).encode()
for part in (day, region, service, "aws4_request"):
    key = hmac.new(key, part.encode(), hashlib.sha256).digest()
sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
if corrupt == "1":
    sig = "0" * len(sig)
print("X-Amz-Date: " + amz)
print("Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (ak, scope, signed, sig))
PY
}

# send METHOD WIRE SIGNING [KEY_ID SECRET] [quiet]: sets STATUS, the body is in $BODY.
send() {
    local method="$1" wire="$2" signing="$3" ak="${4:-$AK}" sk="${5:-$SK}" quiet="${6:-}"
    local url="$ENDPOINT/" service=iam region=us-east-1 skew=0 corrupt=0 use_py=0
    local -a args=(-sS -o "$BODY" -w '%{http_code}' --max-time 30 -X "$method")
    printf '%s' "$wire" >"$WORK/req"
    case "$signing" in
        wrong-secret) sk="${sk}x" ;;
        unknown-key) ak="AKIA$(printf '%s' "$NEW_PREFIX" | tr a-z A-Z)"; sk=unknown-key-secret-0000000000000000000000 ;;
        scope:*) service="${signing#scope:}"; region="${service#*/}"; service="${service%%/*}" ;;
        skewed:*) skew="${signing#skewed:}"; skew="${skew%s}" ;;
        corrupted) corrupt=1; use_py=1 ;;
    esac
    if [ "$method" = GET ] || [ "$method" = HEAD ]; then
        url="$ENDPOINT/?$wire"
        : >"$WORK/req"
        [ "$signing" = unsigned ] || use_py=1
    else
        args+=(-H "Content-Type: $FORM" --data-binary "@$WORK/req")
    fi
    if [ "$signing" = unsigned ]; then
        STATUS=$(curl "${args[@]}" "$url") || STATUS=0
    elif [ "$use_py" = 1 ]; then
        STATUS=$(PY_SK="$sk" py_sign "$method" "$url" "$WORK/req" "$service" "$region" "$corrupt" "$ak" \
            | curl "${args[@]}" -H @- "$url") || STATUS=0
    else
        if [ "$skew" != 0 ]; then
            args+=(-H "X-Amz-Date: $(date -u -d "@$(($(date +%s) + skew))" +%Y%m%dT%H%M%SZ)")
        fi
        STATUS=$(printf 'user = "%s:%s"\n' "$ak" "$sk" \
            | curl "${args[@]}" --aws-sigv4 "aws:amz:$region:$service" -K - "$url") || STATUS=0
    fi
    if [ -z "$quiet" ]; then
        if [ "$method" = GET ] || [ "$method" = HEAD ]; then echo "> $method $url (signing: $signing)"; else echo "> $method $ENDPOINT/ (signing: $signing)"; echo "> $wire"; fi
        echo "< HTTP $STATUS"
        printf '< '; shown "$BODY"
    fi
    [ "$STATUS" != 000 ] && [ "$STATUS" != 0 ] || cannot_judge "no response from $ENDPOINT"
}

# call ACTION [NAME VALUE]...: a normally signed POST, quiet unless LOUD=1.
call() {
    local wire="Action=$1&Version=$VERSION"
    shift
    while [ $# -ge 2 ]; do wire+="&$1=$(urlencode "$2")"; shift 2; done
    local quiet=quiet
    [ -z "${LOUD:-}" ] || quiet=""
    send POST "$wire" sigv4 "$CALL_AK" "$CALL_SK" "$quiet"
}
CALL_AK="$AK"
CALL_SK="$SK"

create_user() {
    CREATED_USERS+=("$1")
    call CreateUser UserName "$1"
    [ "$STATUS" = 200 ] || cannot_judge "set-up: CreateUser $1 answered HTTP $STATUS $(text_of Code)"
}

create_key() { # USER: sets KEY_ID and KEY_SK
    call CreateAccessKey UserName "$1"
    KEY_ID="$(text_of AccessKeyId)"
    KEY_SK="$(text_of SecretAccessKey)"
    [ "$STATUS" = 200 ] && [ -n "$KEY_ID" ] && [ -n "$KEY_SK" ] || cannot_judge "set-up: CreateAccessKey for $1 answered HTTP $STATUS"
}

key_ids() { # USER: prints the key ids listed for USER
    local saved="$WORK/saved"
    cp "$BODY" "$saved" 2>/dev/null || : >"$saved"
    # Quiet even inside a sequence (LOUD=1): what this prints is read as key ids, and a logged
    # request would become a DeleteAccessKey per word of it in cleanup.
    LOUD="" call ListAccessKeys UserName "$1"
    if [ "$STATUS" = 200 ]; then LC_ALL=C tr -d '\000\n\r' <"$BODY" | grep -o '<AccessKeyId>[^<]*</AccessKeyId>' | sed -e 's#</\{0,1\}AccessKeyId>##g'; fi
    cp "$saved" "$BODY"
}

cleanup() {
    local i user key
    CALL_AK="$AK"; CALL_SK="$SK"
    for key in "${STRAY_KEYS[@]}"; do call DeleteAccessKey UserName "${key%% *}" AccessKeyId "${key#* }" >/dev/null 2>&1; done
    for ((i = ${#CREATED_USERS[@]} - 1; i >= 0; i--)); do
        user="${CREATED_USERS[$i]}"
        for key in $(key_ids "$user" 2>/dev/null); do call DeleteAccessKey UserName "$user" AccessKeyId "$key" >/dev/null 2>&1; done
        call DeleteUser UserName "$user" >/dev/null 2>&1
    done
    rm -rf "$WORK"
}
trap 'cleanup' EXIT
trap 'exit 130' INT TERM

well_formed() {
    if command -v xmllint >/dev/null 2>&1; then
        xmllint --noout "$BODY" 2>/dev/null
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$BODY" 2>/dev/null
    else
        cannot_judge "judging well-formed XML needs xmllint or python3"
    fi
}

root_of() { LC_ALL=C tr -d '\000\n\r' <"$BODY" | sed -e 's#<?[^>]*?>##g' | grep -o '<[A-Za-z][A-Za-z0-9:._-]*' | head -n 1 | cut -c2-; }

status_ok() { # STATUS WANT
    case "$2" in
        4xx) [ "$1" -ge 400 ] && [ "$1" -lt 500 ] ;;
        '<500') [ "$1" -lt 500 ] ;;
        '') true ;;
        *) [ "$1" = "$2" ] ;;
    esac
}

judge_output() { # USER: sets HOLDS and WHAT
    local key_id secret st date name off
    key_id="$(text_of AccessKeyId)"; secret="$(text_of SecretAccessKey)"; st="$(text_of Status)"; date="$(text_of CreateDate)"; name="$(text_of UserName)"
    HOLDS=0
    case "$OUTPUT" in
        envelope)
            # The envelope of the action the case sent (CreateAccessKey, GetUser, ...).
            local act; act="$(printf '%s' "$WIRE" | sed -n 's/^\(.*&\)\{0,1\}Action=\([A-Za-z]*\).*/\2/p')"
            # Delete* and Update* answers carry no Result element.
            local result_ok=0; case "$act" in Delete*|Update*) result_ok=1 ;; *) grep -q "<${act}Result>" "$BODY" && result_ok=1 ;; esac
            WHAT="root $(root_of)"; [ "$(root_of)" = "${act}Response" ] && grep -q 'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"' "$BODY" && [ $result_ok = 1 ] && HOLDS=1 ;;
        status-active) WHAT="Status '$st'"; [ "$st" = Active ] && HOLDS=1 ;;
        user-name-echo) WHAT="AccessKey.UserName '$name', sent '$1'"; [ "$name" = "$1" ] && HOLDS=1 ;;
        create-date)
            if off=$(( $(date -u -d "$date" +%s 2>/dev/null || echo x) - $(date -u +%s) )) 2>/dev/null && [[ "$date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]]; then
                WHAT="CreateDate '$date', ${off#-} s from now"; [ "${off#-}" -le 900 ] && HOLDS=1
            else WHAT="CreateDate '$date' is not ISO 8601"; fi ;;
        key-id) WHAT="AccessKeyId '$key_id'"; [[ "$key_id" =~ ^AKIA[A-Z0-9]{16}$ ]] && HOLDS=1 ;;
        secret) WHAT="a secret of ${#secret} characters"; [[ "$secret" =~ ^[A-Za-z0-9+/]{40}$ ]] && HOLDS=1 ;;
        schema)
            WHAT=""
            [[ "$key_id" =~ ^[A-Za-z0-9_]{16,128}$ ]] || WHAT+="AccessKeyId '$key_id'; "
            case "$st" in Active | Inactive | Expired) ;; *) WHAT+="Status '$st'; " ;; esac
            [ -n "$secret" ] || WHAT+="no SecretAccessKey; "
            [[ "$name" =~ ^[A-Za-z0-9_+=,.@-]{1,64}$ ]] || WHAT+="UserName '$name'; "
            [ -z "$WHAT" ] && HOLDS=1 && WHAT="the required members present and valid" ;;
        *) cannot_judge "no output check named $OUTPUT" ;;
    esac
}

judge_wire() { # sets HOLDS and OBSERVED
    local user="" code message fault keys signer_ak="" signer_sk="" signing="$SIGNING" i made owner
    [ -z "$CLEANUP_USER" ] || CREATED_USERS+=("$(fresh "$CLEANUP_USER")")
    if [ -n "$SETUP_USER" ]; then
        user="$(fresh "$SETUP_USER")"
        create_user "$user"
        for ((i = 0; i < SETUP_KEYS; i++)); do
            create_key "$user"
            if [ "$i" = 0 ] && [ "$INACTIVATE_FIRST" = 1 ]; then call UpdateAccessKey UserName "$user" AccessKeyId "$KEY_ID" Status Inactive; fi
        done
    fi
    if [ -n "$SIGNER_USER" ]; then
        create_user "$(fresh "$SIGNER_USER")"
        create_key "$(fresh "$SIGNER_USER")"
        signer_ak="$KEY_ID"; signer_sk="$KEY_SK"; signing=sigv4
    fi
    local wire
    wire="$(fresh "$WIRE")"
    send "$METHOD" "$wire" "$signing" "${signer_ak:-$AK}" "${signer_sk:-$SK}"
    code="$(text_of Code)"; message="$(text_of Message)"; fault="$(text_of Type)"
    made="$(text_of AccessKeyId)"; owner="$(text_of UserName)"
    if [ "$STATUS" = 200 ] && [ -n "$made" ] && [ -n "$owner" ] && ! printf '%s\n' "${CREATED_USERS[@]}" | grep -qxF -- "$owner"; then
        STRAY_KEYS+=("$owner $made")
    fi
    OBSERVED="HTTP $STATUS${code:+ $code}"
    HOLDS=0
    case "$CHECK" in
        status)
            status_ok "$STATUS" "$WANT_STATUS" && { [ -z "$WANT_CODE" ] || [ "$code" = "$WANT_CODE" ]; } && { [ -z "$WANT_TYPE" ] || [ "$fault" = "$WANT_TYPE" ]; } && HOLDS=1
            if [ "$WANT_WELL_FORMED" = 1 ]; then
                if well_formed; then OBSERVED+=", body well-formed"; else HOLDS=0; OBSERVED+=", body not well-formed XML"; fi
            fi ;;
        no-key)
            local st="$STATUS"
            keys="$(key_ids "$user" | wc -w)"
            OBSERVED+=", $keys key(s) listed for $user afterwards"
            status_ok "$st" "$WANT_STATUS" && { [ -z "$WANT_CODE" ] || [ "$code" = "$WANT_CODE" ]; } && [ "$keys" = 0 ] && HOLDS=1 ;;
        well-formed) if well_formed; then HOLDS=1; OBSERVED+=", body well-formed"; else OBSERVED+=", body not well-formed XML"; fi ;;
        request-id) local rid; rid="$(text_of RequestId)"; OBSERVED+=", RequestId '$rid'"; [ -n "$rid" ] && HOLDS=1 ;;
        error-envelope)
            local problems="" want
            if [ "$STATUS" -ge 400 ]; then
                { well_formed && [ "$(root_of)" = ErrorResponse ]; } || problems+="no ErrorResponse envelope (root '$(root_of)'); "
                [ -n "$code" ] || problems+="no Code; "
                [ -n "$fault" ] || problems+="no Type; "
                want="$(printf '%s\n' "${ERRORS[@]}" | grep "^$code " | head -n 1)"
                if [ -n "$code" ] && [ -n "$want" ]; then
                    read -r _ want_status want_type <<<"$want"
                    [ "$STATUS" = "$want_status" ] || problems+="HTTP $STATUS for $code, expected $want_status; "
                    [ "$fault" = "$want_type" ] || problems+="Type '$fault' for $code, expected $want_type; "
                fi
            fi
            [ -z "$problems" ] && HOLDS=1 || OBSERVED+="; $problems" ;;
        message-nonempty) OBSERVED+=", Message '$message'"; [ "$STATUS" -ge 400 ] && well_formed && [ -n "${message// /}" ] && HOLDS=1 ;;
        message-contains) OBSERVED+=", Message '$message'"; case "$message" in *"$(fresh "$WANT_TEXT")"*) HOLDS=1 ;; esac ;;
        message-equals) OBSERVED+=", Message '$message'"; status_ok "$STATUS" "$WANT_STATUS" && [ "$code" = "$WANT_CODE" ] && [ "$message" = "$(fresh "$WANT_TEXT")" ] && HOLDS=1 ;;
        created-key) local got; got="$(text_of UserName)"; OBSERVED+=", AccessKey.UserName '$got'"; [ "$STATUS" = 200 ] && [ -n "$(text_of AccessKeyId)" ] && [ "$got" = "$(fresh "$WANT_USER")" ] && HOLDS=1 ;;
        output)
            if [ "$STATUS" -ge 400 ] 2>/dev/null && [ "$STATUS" -lt 500 ]; then
                # Output rules judge success answers only: a refusal has no output to break
                # (the case may have been accepted only because of another deviation).
                HOLDS=1; OBSERVED+=", a refusal: no success answer for the output rule to judge"
            else
                [ "$STATUS" = 200 ] || cannot_judge "the request did not succeed ($OBSERVED), so its output cannot be judged"
                judge_output "$(fresh "$WANT_USER")"; OBSERVED+=", $WHAT"
            fi ;;
        same-twice)
            local s1="$STATUS" c1="$code"
            send "$METHOD" "$wire" "$SIGNING"
            OBSERVED="HTTP $s1 $c1, then HTTP $STATUS $(text_of Code)"
            [ "$s1" = "$STATUS" ] && [ "$c1" = "$(text_of Code)" ] && [ "$STATUS" -ge 400 ] && [ "$STATUS" -lt 500 ] && HOLDS=1 ;;
        *) cannot_judge "no check named $CHECK" ;;
    esac
}

# ---- lifecycle sequences -------------------------------------------------------------------
# The reference model: 3 user slots, and every key created so far (index = creation order).
U_NAME=(); U_EXISTS=(); K_ID=(); K_SK=(); K_USER=(); K_ACTIVE=(); K_DELETED=(); K_DATE=(); ISSUED=" "
VERDICT=""; JUDGED=0

judge() { # RULE HOLDS(0/1) WHAT OBSERVED
    if [ "$1" = "$RULE" ] && [ -z "$VERDICT" ]; then
        JUDGED=1
        [ "$2" = 1 ] || VERDICT="$4 at a step where the reference model expects $3"
    fi
}

live() { local n=0 i; for i in "${!K_ID[@]}"; do [ "${K_USER[$i]}" = "$1" ] && [ "${K_DELETED[$i]}" = 0 ] && n=$((n + 1)); done; echo "$n"; }

swapcase() { printf '%s' "$1" | tr 'a-zA-Z' 'A-Za-z'; }

judge_sequence() {
    local step kind args n u k status code st
    LOUD=1
    for u in 0 1 2; do U_NAME[$u]="$NEW_PREFIX-seq0-User$u"; U_EXISTS[$u]=0; done
    for step in $SEQUENCE; do
        kind="${step%%(*}"; args="${step#*(}"; args="${args%)}"; n="${args%%,*}"
        case "$kind" in
            CreateUser | CreateUserOtherCase | CreateKey | ListKeys | DeleteUser) u=$((n % 3)) ;;
            *) [ "$n" -lt "${#K_ID[@]}" ] || continue; k="$n" ;;
        esac
        CALL_AK="$AK"; CALL_SK="$SK"
        case "$kind" in
            CreateUser)
                CREATED_USERS+=("${U_NAME[$u]}")
                call CreateUser UserName "${U_NAME[$u]}"
                [ "${U_EXISTS[$u]}" = 1 ] || { [ "$STATUS" = 200 ] && U_EXISTS[$u]=1; } ;;
            CreateUserOtherCase)
                [ "${U_EXISTS[$u]}" = 1 ] || continue
                local swapped; swapped="$(swapcase "${U_NAME[$u]}")"
                CREATED_USERS+=("$swapped")
                call CreateUser UserName "$swapped"
                code="$(text_of Code)"
                judge lifecycle.user-names-fold-case "$([ "$STATUS" = 409 ] && [ "$code" = EntityAlreadyExists ] && echo 1 || echo 0)" \
                    "409 EntityAlreadyExists for a name that differs from an existing user's only in case" "HTTP $STATUS${code:+ $code}" ;;
            CreateKey | CreateKeyImplicit)
                local implicit="" exists
                if [ "$kind" = CreateKey ]; then
                    call CreateAccessKey UserName "${U_NAME[$u]}"; exists="${U_EXISTS[$u]}"
                else
                    [ "${K_DELETED[$k]}" = 0 ] && [ "${K_ACTIVE[$k]}" = 1 ] || continue
                    u="${K_USER[$k]}"; implicit="${U_NAME[$u]}"; exists=1
                    CALL_AK="${K_ID[$k]}"; CALL_SK="${K_SK[$k]}"
                    call CreateAccessKey
                fi
                code="$(text_of Code)"
                if [ -n "$implicit" ] && [ "$STATUS" = 403 ] && [ "$code" = AccessDenied ]; then
                    local msg who; msg="$(text_of Message)"
                    who="$(printf '%s' "$msg" | sed -n -e 's#.*on resource: user \([^ ]*\).*#\1#p' -e 's#.*on resource: arn:[^ ]*:user/\([^ ]*/\)\{0,1\}\([^ /]*\).*#\2#p' | head -n 1)"
                    if [ -n "$who" ]; then
                        judge lifecycle.implicit-user-is-signer "$([ "$(swapcase "$who" | tr A-Z a-z)" = "$(printf '%s' "$implicit" | tr A-Z a-z)" ] || [ "$(printf '%s' "$who" | tr A-Z a-z)" = "$(printf '%s' "$implicit" | tr A-Z a-z)" ] && echo 1 || echo 0)" \
                            "a CreateAccessKey without UserName to act on the signing user $implicit" "AccessDenied names $who"
                    fi
                elif [ "$exists" = 1 ]; then
                    if [ "$(live "$u")" -ge 2 ]; then
                        judge lifecycle.quota-counts-inactive "$([ "$STATUS" = 409 ] && [ "$code" = LimitExceeded ] && echo 1 || echo 0)" "409 LimitExceeded: the user already holds 2 keys" "HTTP $STATUS${code:+ $code}"
                    elif [ -n "$implicit" ] && [ "$STATUS" != 200 ]; then
                        judge lifecycle.implicit-user-is-signer 0 "200 and a key for the signing user" "HTTP $STATUS${code:+ $code}"
                    else
                        judge lifecycle.quota-counts-inactive "$([ "$STATUS" = 200 ] && echo 1 || echo 0)" "200: the user holds $(live "$u") of 2 keys" "HTTP $STATUS${code:+ $code}"
                    fi
                fi
                local id; id="$(text_of AccessKeyId)"
                if [ "$STATUS" = 200 ] && [ -n "$id" ]; then
                    local got; got="$(text_of UserName)"
                    [ -z "$implicit" ] || judge lifecycle.implicit-user-is-signer "$([ "$got" = "$implicit" ] && echo 1 || echo 0)" "the key to go to the signing user $implicit" "it went to $got"
                    judge lifecycle.ids-unique-and-never-reused "$(case "$ISSUED" in *" $id "*) echo 0 ;; *) echo 1 ;; esac)" "an AccessKeyId never issued before" "$id again"
                    ISSUED+="$id "
                    k="${#K_ID[@]}"; K_ID[$k]="$id"; K_SK[$k]="$(text_of SecretAccessKey)"; K_USER[$k]="$u"; K_ACTIVE[$k]=1; K_DELETED[$k]=0; K_DATE[$k]="$(text_of CreateDate)"
                fi ;;
            ListKeys)
                [ "${U_EXISTS[$u]}" = 1 ] || continue
                call ListAccessKeys UserName "${U_NAME[$u]}"
                local leak=0 want="" got="" i dead=0 flat
                grep -q '<SecretAccessKey>' "$BODY" && leak=1
                for i in "${!K_ID[@]}"; do [ -n "${K_SK[$i]}" ] && grep -qF -- "${K_SK[$i]}" "$BODY" && leak=1; done
                judge lifecycle.secret-only-at-creation "$((1 - leak))" "no secret in a ListAccessKeys response" "a secret was listed"
                flat="$(LC_ALL=C tr -d '\000\n\r' <"$BODY" | sed -e 's#<member>#\n#g' | tail -n +2)"
                got="$(printf '%s\n' "$flat" | sed -n -e 's#.*<AccessKeyId>\([^<]*\)</AccessKeyId>.*<Status>\([^<]*\)</Status>.*#\1:\2#p' -e 's#.*<Status>\([^<]*\)</Status>.*<AccessKeyId>\([^<]*\)</AccessKeyId>.*#\2:\1#p' | sort | tr '\n' ' ')"
                for i in "${!K_ID[@]}"; do
                    if [ "${K_USER[$i]}" = "$u" ] && [ "${K_DELETED[$i]}" = 0 ]; then want+="${K_ID[$i]}:$([ "${K_ACTIVE[$i]}" = 1 ] && echo Active || echo Inactive)"$'\n'; fi
                    if [ "${K_DELETED[$i]}" = 1 ] && grep -qF -- "<AccessKeyId>${K_ID[$i]}</AccessKeyId>" "$BODY"; then dead=1; fi
                done
                want="$(printf '%s' "$want" | sort | tr '\n' ' ')"
                if [ "$dead" = 1 ]; then
                    judge lifecycle.ids-unique-and-never-reused 0 "a deleted key never to be listed again" "listed $got"
                else
                    judge lifecycle.list-matches-model "$([ "$STATUS" = 200 ] && [ "$got" = "$want" ] && echo 1 || echo 0)" "ListAccessKeys to list exactly [ $want]" "HTTP $STATUS listing [ $got]"
                fi
                local line lid ldate
                while IFS= read -r line; do
                    lid="$(printf '%s' "$line" | sed -n 's#.*<AccessKeyId>\([^<]*\)</AccessKeyId>.*#\1#p')"
                    ldate="$(printf '%s' "$line" | sed -n 's#.*<CreateDate>\([^<]*\)</CreateDate>.*#\1#p')"
                    for i in "${!K_ID[@]}"; do
                        if [ "${K_ID[$i]}" = "$lid" ] && [ -n "${K_DATE[$i]}" ] && [ -n "$ldate" ]; then
                            judge lifecycle.create-date-stable "$([ "$(date -u -d "${K_DATE[$i]}" +%s 2>/dev/null || echo "${K_DATE[$i]}")" = "$(date -u -d "$ldate" +%s 2>/dev/null || echo "$ldate")" ] && echo 1 || echo 0)" \
                                "CreateDate of $lid to stay ${K_DATE[$i]}" "listed as $ldate"
                        fi
                    done
                done <<<"$flat" ;;
            UpdateKey)
                [ "${K_DELETED[$k]}" = 0 ] || continue
                local to="${args#*,}"
                call UpdateAccessKey UserName "${U_NAME[${K_USER[$k]}]}" AccessKeyId "${K_ID[$k]}" Status "$to"
                if [ "$STATUS" = 200 ]; then K_ACTIVE[$k]="$([ "$to" = Active ] && echo 1 || echo 0)"; else judge lifecycle.list-matches-model 0 "200 for UpdateAccessKey on a live key" "HTTP $STATUS"; fi ;;
            DeleteKey)
                [ "${U_EXISTS[${K_USER[$k]}]}" = 1 ] || continue
                call DeleteAccessKey UserName "${U_NAME[${K_USER[$k]}]}" AccessKeyId "${K_ID[$k]}"
                if [ "${K_DELETED[$k]}" = 1 ]; then
                    judge lifecycle.ids-unique-and-never-reused "$([ "$STATUS" = 404 ] && echo 1 || echo 0)" "404 NoSuchEntity for a key deleted before" "HTTP $STATUS"
                elif [ "$STATUS" = 200 ]; then K_DELETED[$k]=1
                else judge lifecycle.list-matches-model 0 "200 for DeleteAccessKey on a live key" "HTTP $STATUS"; fi ;;
            DeleteUser)
                [ "${U_EXISTS[$u]}" = 1 ] || continue
                call DeleteUser UserName "${U_NAME[$u]}"
                code="$(text_of Code)"
                if [ "$(live "$u")" -gt 0 ]; then
                    judge lifecycle.delete-user-with-keys-conflicts "$([ "$STATUS" = 409 ] && [ "$code" = DeleteConflict ] && echo 1 || echo 0)" "409 DeleteConflict: the user still holds keys" "HTTP $STATUS${code:+ $code}"
                    if [ "$STATUS" = 200 ]; then U_EXISTS[$u]=0; for i in "${!K_ID[@]}"; do [ "${K_USER[$i]}" = "$u" ] && K_DELETED[$i]=1; done; fi
                elif [ "$STATUS" = 200 ]; then U_EXISTS[$u]=0; fi ;;
            AuthWith)
                CALL_AK="${K_ID[$k]}"; CALL_SK="${K_SK[$k]}"
                call GetUser UserName "${U_NAME[${K_USER[$k]}]}"
                code="$(text_of Code)"
                if [ "${K_ACTIVE[$k]}" = 1 ] && [ "${K_DELETED[$k]}" = 0 ]; then
                    judge lifecycle.key-status-governs-auth "$({ [ "$STATUS" = 200 ] || { [ "$STATUS" = 403 ] && [ "$code" = AccessDenied ]; }; } && echo 1 || echo 0)" "200 (or 403 AccessDenied) for a request signed with an Active key" "HTTP $STATUS${code:+ $code}"
                else
                    judge lifecycle.key-status-governs-auth "$([ "$STATUS" = 403 ] && [ "$code" != AccessDenied ] && echo 1 || echo 0)" "403 InvalidClientTokenId for a request signed with a deleted or Inactive key" "HTTP $STATUS${code:+ $code}"
                fi ;;
            *) cannot_judge "unknown step $step" ;;
        esac
        case "$kind" in CreateKey | CreateKeyImplicit) ;; *) ! grep -q '<SecretAccessKey>' "$BODY" || judge lifecycle.secret-only-at-creation 0 "no secret in a non-create response" "$step" ;; esac
        [ -z "$VERDICT" ] || break
    done
    CALL_AK="$AK"; CALL_SK="$SK"
    if [ -n "$VERDICT" ]; then HOLDS=0; OBSERVED="$VERDICT"; return; fi
    [ "$JUDGED" = 1 ] || cannot_judge "no step of the sequence judged $RULE"
    HOLDS=1; OBSERVED="every step of $SEQUENCE kept $RULE"
}

echo "$RULE: $TITLE"
echo "expected: $(fresh "$EXPECTED")"
[ -z "$NOT_STANDALONE" ] || cannot_judge "$NOT_STANDALONE"
if [ -n "$SEQUENCE" ]; then judge_sequence; else judge_wire; fi
if [ "$HOLDS" = 1 ]; then
    echo "HOLDS $RULE: $OBSERVED"
    exit 0
fi
echo "DEVIATION $RULE: expected $(fresh "$EXPECTED"); observed $OBSERVED"
exit 1
