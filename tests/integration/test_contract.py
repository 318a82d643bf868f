"""test_contract: the shell contract suite (tests/contract, built by make as
contract-tests) against each shell here: fs, anon, the test shell that answers
everything later (twice: at once on the next turn and after a delay), and a
module built from the installed header that serves a tree of its own."""

import os
import subprocess

from harness import async_shell_path, check, skip, temp_dir
from test_shell_loading import shell_dir


def contract_runner():
    path = os.environ.get("FTPD_CONTRACT_TESTS")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "default", "contract-tests")
    if not os.path.exists(path):
        skip("contract-tests is not built (make builds it for make integration)")
    return os.path.abspath(path)


def run_contract(module, arguments=(), tree=True):
    """Runs the suite; the tree is a fresh directory, as the shell's root."""
    argv = [contract_runner()]
    if tree:
        root = temp_dir("ftpd-contract-")
        argv += ["-r", root, "-t", root]
    argv += list(arguments) + [module]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    check(result.returncode == 0 and "100%: Checks:" in output,
          "contract suite against %s failed:\n%s" % (module, output[-4000:]))
    return output


def cases_run(output):
    line = [line for line in output.splitlines() if "Checks:" in line][-1]
    return int(line.split("Checks:")[1].split(",")[0])


def test_fs_shell():
    output = run_contract("fs", ["-l"])
    check(cases_run(output) >= 23, "fewer cases than the suite has: %s" % output)


def test_anon_shell():
    """anon refuses every change by nature: the writing cases check that instead."""
    run_contract("anon", ["-w"])


def test_async_shell():
    run_contract(async_shell_path(), ["-l"])


def test_async_shell_with_a_delay():
    run_contract(async_shell_path(), ["-l", "-o", "delay_ms=3"])


def test_a_module_with_a_tree_of_its_own():
    """hello.so serves two files from memory: only the cases for any tree apply."""
    module = os.path.join(shell_dir(), "hello.so")
    output = run_contract(module, ["-o", "greeting=hi"], tree=False)
    check("any-tree cases only" in output, "the suite ran tree cases: %s" % output)


def test_the_suite_catches_a_broken_shell():
    """The suite is not a formality: the fs shell on a root it cannot see fails it."""
    root = temp_dir("ftpd-contract-")
    tree = temp_dir("ftpd-contract-other-")
    result = subprocess.run([contract_runner(), "-r", root, "-t", tree, "fs"],
                            capture_output=True, text=True, timeout=300)
    check(result.returncode != 0, "the suite passed a shell whose tree is elsewhere:\n%s"
          % result.stdout[-2000:])
