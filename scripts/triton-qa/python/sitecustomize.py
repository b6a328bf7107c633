"""Put on PYTHONPATH by the harness: every python3 it starts records test outcomes (qa_recorder).

A script that dies before any test ran (an import error, a server that is not up) is recorded too, as a crash of
that script, so a test file that could not run still shows in the counts.
"""
import os
import sys

if os.environ.get("QA_RESULTS"):
    import qa_recorder

    qa_recorder.install()
    _previous_hook = sys.excepthook

    def _record_crash(kind, value, traceback):
        script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
        qa_recorder.record("crash", script, "%s: %s" % (kind.__name__, value))
        _previous_hook(kind, value, traceback)

    sys.excepthook = _record_crash
