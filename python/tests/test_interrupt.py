"""Ctrl-C during a download from Python: KeyboardInterrupt after the current commit, and a local
copy that the CLI then completes exactly. The progress callback runs on the calling thread, and
an exception it raises stops the download the same way."""

import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import bdd
from conftest import FakeApi, Workspace, assert_server_events

CHILD = textwrap.dedent("""
    import sys, bdd
    study = bdd.Study(sys.argv[1], workdir=sys.argv[2])
    try:
        study.download(progress=lambda p: print("progress", p.events_received, flush=True))
    except KeyboardInterrupt:
        print("KeyboardInterrupt", flush=True)
        sys.exit(130)
    print("finished", flush=True)
""")


@pytest.fixture
def slow_api(tmp_path):
    # 100 ms per request: 5,000 events in pages of 100 take a few seconds.
    server = FakeApi(tmp_path, "--latency-ms", "100")
    yield server
    server.stop()


def test_ctrl_c_raises_keyboard_interrupt_and_the_cli_completes_the_copy(tmp_path, slow_api):
    ws = Workspace(tmp_path, slow_api, "jsonl", ["by_user_id"])
    slow_api.append(ws.study, 5000)
    child = subprocess.Popen([sys.executable, "-c", CHILD, ws.study, str(ws.dir)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = child.stdout.readline()
    assert first.startswith("progress "), first + child.stderr.read()
    child.send_signal(signal.SIGINT)
    rest, errors = child.communicate(timeout=60)
    assert child.returncode == 130, errors
    assert rest.splitlines()[-1] == "KeyboardInterrupt" and "finished" not in rest
    assert "Traceback" not in errors

    study = bdd.Study(ws.study, workdir=ws.dir)
    stored = study.status().events_stored
    assert stored < 5000
    assert study.history()[-1]["status"] == "interrupted"
    ws.cli("download", ws.study)
    history = study.history()
    assert history[-1]["status"] == "success"
    assert history[-1]["events_added"] == 5000 - stored
    assert_server_events(study.events(), ws.server_events())
    assert ws.cli("verify", ws.study).returncode == 0


def test_progress_runs_on_the_calling_thread_and_its_exception_stops_the_download(
        tmp_path, slow_api):
    ws = Workspace(tmp_path, slow_api)
    slow_api.append(ws.study, 2000)
    study = bdd.Study(ws.study, workdir=ws.dir)
    threads = set()

    def progress(report):
        threads.add(threading.get_ident())
        if len(threads) and report.events_received >= 300:
            raise ValueError("enough")

    with pytest.raises(ValueError, match="enough"):
        study.download(progress=progress)
    assert threads == {threading.get_ident()}
    assert study.history()[-1]["status"] == "interrupted"
    assert study.status().events_stored < 2000
    summary = study.download()
    assert summary.events_stored == 2000
    assert_server_events(study.events(), ws.server_events())
