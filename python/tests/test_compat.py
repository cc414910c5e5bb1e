"""The original tool's documented programmatic API (behaverse_data_downloader.manager), on bdd:
its README's script runs unchanged, and its calls keep their result keys, in every format."""

import subprocess
import sys
import textwrap

import pytest

import bdd
from behaverse_data_downloader.manager import BehaverseDataDownloader
from conftest import FORMATS, FakeApi, Workspace, assert_server_events

# The original's README, "Programmatic Usage", verbatim.
ORIGINAL_SCRIPT = textwrap.dedent("""
    from behaverse_data_downloader.manager import BehaverseDataDownloader

    # Initialize downloader
    downloader = BehaverseDataDownloader("settings/default_config.json")

    # Download with progress tracking
    def progress_callback(progress):
        print(f"Downloaded {progress['total_events']} events...")

    result = downloader.download_study(
        "demo-study",
        incremental=True,
        progress_callback=progress_callback
    )

    # Load downloaded data
    events = downloader.load_study_events("demo-study")
    print(f"Loaded {len(events)} events")

    # Get study information
    info = downloader.get_study_info("demo-study")
    print(f"Status: {info['status']}")
    print(f"Local events: {info['local_events']}")
""")


@pytest.fixture
def demo(tmp_path):
    """A workspace whose study is named demo-study, as in the original's README."""
    api = FakeApi(tmp_path)
    workspace = Workspace(tmp_path, api, "json", study="demo-study")
    yield workspace
    api.stop()


def test_the_original_readme_script_runs_unchanged(demo):
    demo.api.append("demo-study", 250)
    run = subprocess.run([sys.executable, "-c", ORIGINAL_SCRIPT], cwd=demo.dir,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[-3:] == ["Loaded 250 events",
                          "Status: Has local data (can use incremental update)",
                          "Local events: 250"]
    progress = [line for line in lines if line.startswith("Downloaded ")]
    assert progress and progress[-1] == "Downloaded 250 events..."
    # Run again after new events: it adds only those.
    demo.api.append("demo-study", 40)
    again = subprocess.run([sys.executable, "-c", ORIGINAL_SCRIPT], cwd=demo.dir,
                           capture_output=True, text=True)
    assert again.stdout.splitlines()[-1] == "Local events: 290", again.stderr
    assert demo.cli("verify", "demo-study").returncode == 0


@pytest.mark.parametrize("storage_format", FORMATS)
def test_download_study_load_and_info_keep_the_original_keys(tmp_path, api, monkeypatch,
                                                              storage_format):
    ws = Workspace(tmp_path, api, storage_format)
    monkeypatch.chdir(ws.dir)
    downloader = BehaverseDataDownloader("settings/default_config.json")
    assert downloader.get_study_info(ws.study) == {
        "name": ws.study, "format": storage_format, "organization": "by_study",
        "local_events": 0, "last_update": None, "has_local_data": False,
        "status": "No local data"}
    assert downloader.load_study_events(ws.study) == []

    api.append(ws.study, 250)
    pages = []
    result = downloader.download_study(ws.study, incremental=True,
                                       progress_callback=pages.append)
    assert result == {"success": True, "message": "Saved 250 events", "events_count": 250,
                      "save_path": str(ws.study_dir)}
    assert pages[-1]["total_events"] == 250 and pages[-1]["study_name"] == ws.study
    assert [page["page"] for page in pages] == list(range(1, len(pages) + 1))
    assert sum(page["events_in_page"] for page in pages) == 250

    api.append(ws.study, 50)
    assert downloader.download_study(ws.study)["events_count"] == 50
    assert downloader.download_study(ws.study) == {
        "success": True, "message": "No new events found", "events_count": 0,
        "save_path": None}

    events = downloader.load_study_events(ws.study)
    assert_server_events(events, ws.server_events())
    # The original's EventData fields, as attributes too.
    for field in ("id", "study_name", "event_type", "element_id", "timestamp",
                  "stored_timestamp", "page_url", "data"):
        assert getattr(events[0], field) == events[0][field]
    info = downloader.get_study_info(ws.study)
    assert (info["local_events"], info["has_local_data"], info["format"]) == (
        300, True, storage_format)
    assert info["last_update"] == bdd.Study(ws.study, workdir=ws.dir).status().last_update
    assert [run["events_added"] for run in bdd.Study(ws.study, ws.dir).history()] == [250, 50, 0]


def test_download_study_reports_failures_in_its_result_as_the_original(workspace, monkeypatch):
    (workspace.dir / ".env").write_text(f"{workspace.variable}=wrong-key-42\n")
    monkeypatch.chdir(workspace.dir)
    result = BehaverseDataDownloader().download_study(workspace.study)
    assert result["success"] is False and result["events_count"] == 0
    assert result["save_path"] is None
    assert "wrong-key-42" not in result["message"]
    assert result["message"] == str(pytest.raises(
        bdd.AuthError, bdd.Study(workspace.study, workdir=workspace.dir).download).value)


def test_a_config_path_outside_settings_is_refused(tmp_path):
    with pytest.raises(bdd.ConfigError, match="settings/default_config.json"):
        BehaverseDataDownloader(str(tmp_path / "my.json"))
    assert BehaverseDataDownloader(str(tmp_path / "settings" / "default_config.json")).workdir \
        == tmp_path
