"""Records the outcome of every test method Triton's qa files run, without changing them.

Loaded into every python3 the harness starts (sitecustomize.py and the pytest plugin below call
into it): each outcome becomes a line `<outcome>\t<test id>\t<last line of the reason>` appended
to the file named by $QA_RESULTS. A test.sh that runs one method once per client type (it exports
CLIENT_TYPE) gets one id per client type, e.g. `shared_memory_test.SharedMemoryTest.test_x[grpc]`.
"""
import os
import re
import sys
import unittest

_EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception|Exit|Interrupt|Failure)\b.*:")

RESULTS_PATH = os.environ.get("QA_RESULTS")


def _test_id(raw_id):
    if raw_id.startswith("__main__."):
        stem = os.path.splitext(os.path.basename(sys.argv[0] if sys.argv else ""))[0] or "__main__"
        raw_id = stem + raw_id[len("__main__"):]
    variant = os.environ.get("CLIENT_TYPE")
    return f"{raw_id}[{variant}]" if variant else raw_id


def record(outcome, raw_id, detail=""):
    if not RESULTS_PATH:
        return
    lines = [line.strip() for line in str(detail).strip().splitlines() if line.strip()]
    # The exception line says most; a traceback may end with other text (an error's own multi-line message).
    raised = [line for line in lines if _EXCEPTION_LINE.match(line)]
    reason = (raised[-1] if raised else lines[-1] if lines else "")[:300]
    with open(RESULTS_PATH, "a", encoding="utf-8") as out:
        out.write(f"{outcome}\t{_test_id(raw_id)}\t{reason}\n")


class RecordingResult(unittest.TextTestResult):
    def addSuccess(self, test):
        super().addSuccess(test)
        record("pass", test.id())

    def addFailure(self, test, err):
        super().addFailure(test, err)
        record("fail", test.id(), self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)  # setUpClass errors arrive as an _ErrorHolder with an id() too
        record("error", test.id(), self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        record("skip", test.id(), reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        record("pass", test.id(), "expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        record("fail", test.id(), "unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:  # a method fails when any of its subtests does
            record("fail", test.id(), self._exc_info_to_string(err, test))


def install():
    """Makes every unittest runner (unittest.main, python -m unittest) use RecordingResult."""
    unittest.TextTestRunner.resultclass = RecordingResult


# pytest plugin (loaded with `-p qa_recorder` through PYTEST_ADDOPTS).
def pytest_runtest_logreport(report):
    test_id = report.nodeid.replace("::", ".").replace(".py.", ".", 1)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if report.passed:
            record("pass", test_id)
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            record("skip", test_id, reason)
        else:
            # pytest's crash line (the exception and its message) says more than the last traceback line.
            crash = getattr(getattr(report.longrepr, "reprcrash", None), "message", None)
            detail = crash.strip().splitlines()[0] if crash and crash.strip() else str(report.longrepr)
            record("fail" if report.when == "call" else "error", test_id, detail)
