# Shared helpers for targets/*/install.sh and start.sh, and for CI scripts.
# Source it:  . "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
# Everything here talks to loopback (127.0.0.1) only.

# Where per-target virtualenvs live (one per target, recreated by install.sh).
iam_contract_venv_dir() {
    printf '%s\n' "${IAM_CONTRACT_VENV_DIR:-$HOME/.cache/iam-contract/venvs}"
}

# iam_contract_python [MIN_MINOR]: print a python3 interpreter (3.MIN_MINOR or
# newer, default 3.9). Honours $IAM_CONTRACT_PYTHON, then python3 on PATH,
# then pyenv-installed versions.
iam_contract_python() {
    local min="${1:-9}" cand v
    for cand in "${IAM_CONTRACT_PYTHON:-}" python3 \
        $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3 2>/dev/null | sort -V -r); do
        [ -n "$cand" ] || continue
        command -v "$cand" >/dev/null 2>&1 || [ -x "$cand" ] || continue
        v=$("$cand" -c 'import sys; print(sys.version_info[1] if sys.version_info[0] == 3 else 0)' 2>/dev/null) || continue
        if [ "$v" -ge "$min" ]; then
            printf '%s\n' "$cand"
            return 0
        fi
    done
    echo "no python3 >= 3.$min found (set IAM_CONTRACT_PYTHON)" >&2
    return 1
}

# ensure_venv NAME PYTHON LOCKFILE REQ...
# Idempotent: (re)creates $(iam_contract_venv_dir)/NAME and installs REQ...
# constrained by LOCKFILE (a pip freeze), unless a stamp says the same
# requirements are already installed. Prints only progress, no secrets.
# Concurrent calls for the same NAME (two tests installing moto at once) take
# turns on a lock file (flock, where there is one), so neither removes the
# virtualenv the other is building.
ensure_venv() {
    mkdir -p "$(iam_contract_venv_dir)"
    (
        if command -v flock >/dev/null 2>&1; then flock 9; fi
        ensure_venv_locked "$@"
    ) 9>"$(iam_contract_venv_dir)/$1.lock"
}

ensure_venv_locked() {
    local name="$1" py="$2" lock="$3"; shift 3
    local dir stamp want
    dir="$(iam_contract_venv_dir)/$name"
    stamp="$dir/.iam-contract-stamp"
    want="$* $(cksum <"$lock" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/bin/python" ]; then
        echo "[$name] already installed in $dir"
        return 0
    fi
    echo "[$name] installing $* into $dir"
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    "$py" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    "$dir/bin/python" -m pip install -q --disable-pip-version-check -c "$lock" "$@"
    printf '%s' "$want" >"$stamp"
    echo "[$name] done"
}

# free_port: print a TCP port on 127.0.0.1 that is free right now.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local p i
    for i in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 30000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for_port PORT [TIMEOUT_SECS] [PID]: wait until 127.0.0.1:PORT accepts
# connections. Fails on timeout, or early when PID (the server) has died.
wait_for_port() {
    local port="$1" timeout="${2:-60}" pid="${3:-}" start=$SECONDS
    while ! port_open "$port"; do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            echo "server (pid $pid) exited before 127.0.0.1:$port opened" >&2
            return 1
        fi
        if [ $(( SECONDS - start )) -ge "$timeout" ]; then
            echo "timed out after ${timeout}s waiting for 127.0.0.1:$port" >&2
            return 1
        fi
        sleep 0.2
    done
}

# wait_for_http PORT PATH [TIMEOUT_SECS] [PID]: wait until GET
# http://127.0.0.1:PORT/PATH gets any HTTP response (any status).
wait_for_http() {
    local port="$1" path="${2:-/}" timeout="${3:-60}" pid="${4:-}" start=$SECONDS
    while ! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port$path"; do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            echo "server (pid $pid) exited before answering on 127.0.0.1:$port" >&2
            return 1
        fi
        if [ $(( SECONDS - start )) -ge "$timeout" ]; then
            echo "timed out after ${timeout}s waiting for http://127.0.0.1:$port$path" >&2
            return 1
        fi
        sleep 0.2
    done
}

# stop_server PID [GRACE_SECS]: SIGTERM, then SIGKILL after GRACE_SECS.
stop_server() {
    local pid="$1" grace="${2:-10}" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 $(( grace * 10 ))); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# Where the fakecloud binary is built once (cargo install --root DIR puts it in DIR/bin).
iam_contract_fakecloud_dir() {
    printf '%s\n' "${IAM_CONTRACT_FAKECLOUD_DIR:-$HOME/.cache/iam-contract/fakecloud}"
}

# fakecloud_bin: print the path of the cached fakecloud 0.51.0 binary, or fail (quietly) when
# it is not there or is another version. Building it takes about an hour (see
# targets/fakecloud/README.md), so nothing builds it implicitly.
fakecloud_bin() {
    local bin
    bin="$(iam_contract_fakecloud_dir)/bin/fakecloud"
    [ -x "$bin" ] || return 1
    "$bin" --version 2>/dev/null | grep -qx 'fakecloud 0\.51\.0' || return 1
    printf '%s\n' "$bin"
}
