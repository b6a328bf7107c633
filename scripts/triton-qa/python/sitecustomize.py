"""Put on PYTHONPATH by the harness: every python3 it starts records unittest outcomes (qa_recorder)."""
import os

if os.environ.get("QA_RESULTS"):
    import qa_recorder

    qa_recorder.install()
