#!/usr/bin/env python3
"""run: the integration test runner. Finds test_*.py beside it and runs every
test_* function in a child process of its own, so a hang or crash is one failure.

    FTPD=build/default/ftpd python3 tests/integration/run.py [NAME-FILTER...]

A filter keeps the tests whose "module.function" name contains it."""

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

# Leave no __pycache__ in the source tree.
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TEST_TIMEOUT = float(os.environ.get("FTPD_TEST_TIMEOUT", "120"))


def discover():
    """(module, function) names in a stable order."""
    sys.path.insert(0, HERE)
    found = []
    for filename in sorted(os.listdir(HERE)):
        if not (filename.startswith("test_") and filename.endswith(".py")):
            continue
        module_name = filename[:-3]
        module = importlib.import_module(module_name)
        names = [name for name, value in vars(module).items()
                 if name.startswith("test_") and callable(value)
                 and getattr(value, "__module__", None) == module_name]
        # Source order reads better than alphabetical order in the output.
        names.sort(key=lambda name: getattr(module, name).__code__.co_firstlineno)
        found += [(module_name, name) for name in names]
    return found


def run_child(module_name, function_name, result_path):
    """Runs one test in this process and writes its outcome to result_path."""
    sys.path.insert(0, HERE)
    import harness

    outcome = {"status": "pass", "reason": "", "details": ""}
    try:
        module = importlib.import_module(module_name)
        getattr(module, function_name)()
    except harness.Skip as why:
        outcome = {"status": "skip", "reason": str(why), "details": ""}
    except BaseException as error:
        reason = "%s: %s" % (type(error).__name__, error) if str(error) else type(error).__name__
        outcome = {"status": "fail", "reason": reason.splitlines()[0] if reason else "",
                   "details": traceback.format_exc()}
    tails = [(server.command_line(), server.stderr_tail()) for server in harness.servers()]
    stop_errors = harness.finish()
    if stop_errors and outcome["status"] != "fail":
        outcome = {"status": "fail", "reason": stop_errors[0], "details": "\n".join(stop_errors)}
    if outcome["status"] == "fail":
        for command_line, tail in tails:
            outcome["details"] += "\n--- ftpd stderr (tail) of: %s\n%s" % (" ".join(command_line), tail)
    with open(result_path, "w") as f:
        json.dump(outcome, f)


def indent(text):
    return "".join("    " + line + "\n" for line in text.rstrip("\n").splitlines())


def stderr_tails(directory):
    """Server logs left behind by a test that was killed."""
    text = ""
    for parent, _dirs, files in os.walk(directory):
        for name in files:
            if name == "ftpd-stderr.log":
                with open(os.path.join(parent, name), "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()[-30:]
                text += "--- ftpd stderr (tail) %s\n%s\n" % (parent, "\n".join(lines))
    return text


def run_one(module_name, function_name):
    """Returns (status, reason, details, seconds)."""
    scratch = tempfile.mkdtemp(prefix="ftpd-it-")
    result_path = os.path.join(scratch, "result.json")
    test_tmp = os.path.join(scratch, "tmp")
    os.mkdir(test_tmp)
    environment = dict(os.environ, TMPDIR=test_tmp, PYTHONDONTWRITEBYTECODE="1")
    started = time.monotonic()
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child",
                              module_name, function_name, result_path],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=environment, start_new_session=True)
    try:
        output, _ = child.communicate(timeout=TEST_TIMEOUT)
        timed_out = False
    except subprocess.TimeoutExpired:
        # The servers the test started are in its process group: end them too.
        os.killpg(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
        timed_out = True
    else:
        # A test that left a process behind must not leak it into the next test.
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    seconds = time.monotonic() - started
    output = output.decode("utf-8", "replace")
    try:
        if timed_out:
            status, reason = "fail", "timed out after %.0f s" % TEST_TIMEOUT
            details = output + stderr_tails(test_tmp)
        else:
            try:
                with open(result_path) as f:
                    outcome = json.load(f)
                status, reason = outcome["status"], outcome["reason"]
                details = outcome["details"] + ("\n--- test output\n" + output if output else "")
            except (OSError, ValueError):
                status = "fail"
                reason = "test process exited with status %d and no result" % child.returncode
                details = output + stderr_tails(test_tmp)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return status, reason, details, seconds


def main(argv):
    if len(argv) == 5 and argv[1] == "--child":
        run_child(argv[2], argv[3], argv[4])
        return 0
    filters = argv[1:]
    ftpd = os.environ.get("FTPD")
    if ftpd:
        os.environ["FTPD"] = os.path.abspath(ftpd)
    sys.path.insert(0, HERE)
    import harness

    if not os.access(harness.ftpd_path(), os.X_OK):
        print("FAIL setup: %s is not an executable ftpd (set FTPD)" % harness.ftpd_path())
        print("0 passed, 1 failed, 0 skipped")
        return 1
    tests = [(m, f) for m, f in discover()
             if not filters or any(word in "%s.%s" % (m, f) for word in filters)]
    counts = {"pass": 0, "fail": 0, "skip": 0}
    for module_name, function_name in tests:
        name = "%s.%s" % (module_name, function_name)
        status, reason, details, seconds = run_one(module_name, function_name)
        counts[status] += 1
        if status == "pass":
            print("ok   %s (%.2fs)" % (name, seconds))
        elif status == "skip":
            print("skip %s: %s" % (name, reason))
        else:
            print("FAIL %s: %s" % (name, reason))
            print(indent(details), end="")
        sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (counts["pass"], counts["fail"], counts["skip"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
