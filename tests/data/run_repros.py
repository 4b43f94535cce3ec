#!/usr/bin/env python3
# Runs several standalone repro.py scripts in one interpreter, each as `python3 repro.py ENDPOINT`
# would run it: as __main__, with sys.argv = [script, ENDPOINT], in a fresh namespace, its exit
# code taken from SystemExit (an uncaught exception exits 1 with its traceback, as Python does).
# It saves the ~0.1 s of CPU a fresh interpreter spends importing botocore, per script, in the
# findings tests that run a hundred of them; it is test tooling, not what users run.
#
#   python3 run_repros.py ENDPOINT SCRIPT...
#
# Prints one JSON line per script on stdout: {"script": PATH, "code": N, "output": TEXT}.
import contextlib, io, json, runpy, sys, traceback

endpoint, scripts = sys.argv[1], sys.argv[2:]
real_stdout = sys.stdout
for script in scripts:
    out = io.StringIO()
    sys.argv = [script, endpoint]
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as e:
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
    real_stdout.write(json.dumps({"script": script, "code": code, "output": out.getvalue()}) + "\n")
    real_stdout.flush()
