-- wrk script for `cargo bench --bench emulator -- --floor`: replays one fixed request.
-- The bench signs the request just before each run and hands it over in the environment (never
-- on a command line or in a file): IAM_BENCH_METHOD, IAM_BENCH_BODY and IAM_BENCH_HEADERS (one
-- "Name: value" per line). wrk itself sets Host from the URL, as the signature expects.
wrk.method = os.getenv("IAM_BENCH_METHOD") or "POST"
wrk.body = os.getenv("IAM_BENCH_BODY") or ""
for line in string.gmatch(os.getenv("IAM_BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then
    wrk.headers[name] = value
  end
end
