"""bdd.Study against the fake API: download, incremental download, status, history, verify and
the events of the local copy, in every storage format, checked against the server and the CLI."""

import json
from pathlib import Path

import pytest

import bdd
from conftest import FORMATS, Workspace, assert_server_events, cli_error, instant


def ids(events):
    return [event["id"] for event in events]


@pytest.mark.parametrize("storage_format,folders", [(name, []) for name in FORMATS]
                         + [("jsonl", ["by_user_id", "by_date"]), ("csv", ["by_event_type"])])
def test_download_incremental_status_history_verify(tmp_path, api, storage_format, folders):
    ws = Workspace(tmp_path, api, storage_format, folders)
    api.append(ws.study, 250)
    study = bdd.Study(ws.study, workdir=ws.dir)
    reports = []

    first = study.download(progress=reports.append)
    assert (first.events_received, first.events_added, first.events_stored) == (250, 250, 250)
    assert first.study_dir == ws.study_dir
    assert reports and all(isinstance(report, bdd.Progress) for report in reports)
    assert reports[-1].events_added == 250 and reports[-1].remote_total == 250
    # Exactly the server's events, each once, whole and unchanged, in stored-time order.
    assert_server_events(study.events(), ws.server_events())

    api.append(ws.study, 50)
    second = study.download()
    assert (second.events_added, second.events_stored) == (50, 300)
    events = list(study.events())
    assert_server_events(events, ws.server_events())
    assert {event["study_name"] for event in events} == {ws.study}

    status = study.status()
    assert status.downloaded and status.events_stored == 300 and status.remote_total == 300
    assert status.format == storage_format and status.folder_structure == folders
    assert status.newest_stored_timestamp == max(event["stored_timestamp"] for event in events)
    cli_status = json.loads(ws.cli("status", ws.study, "--json").stdout)
    assert status.last_update == cli_status["last_update"]
    assert status.study_dir == Path(cli_status["study_dir"])

    history = study.history()
    assert [(run["type"], run["status"], run["events_added"]) for run in history] == [
        ("full", "success", 250), ("incremental", "success", 50)]
    # The records of `bdd log --json`, which lists them newest first.
    assert history == list(reversed(json.loads(ws.cli("log", ws.study, "--json").stdout)))

    report = study.verify()
    assert report.ok and report.events == 300
    assert [finding for finding in report.findings if finding.error] == []


def test_fresh_download_replaces_the_copy(workspace):
    workspace.api.append(workspace.study, 120)
    study = bdd.Study(workspace.study, workdir=workspace.dir)
    study.download()
    summary = study.download(fresh=True)
    assert (summary.events_added, summary.events_stored) == (120, 120)
    assert [run["type"] for run in study.history()] == ["full", "fresh"]


def test_status_of_a_study_never_downloaded(workspace):
    status = bdd.Study(workspace.study, workdir=workspace.dir).status()
    assert not status.downloaded and status.events_stored == 0 and status.remote_total is None
    assert status.format == "jsonl" and status.last_update is None


def test_events_are_dicts_with_the_export_fields(workspace):
    workspace.api.append(workspace.study, 30)
    study = bdd.Study(workspace.study, workdir=workspace.dir)
    study.download()
    events = list(study.events())
    exported = [json.loads(line) for line in
                workspace.cli("export", workspace.study, "--format", "jsonl", "-o", "-")
                .stdout.splitlines()]
    assert events == exported
    assert list(events[0]) == ["id", "study_name", "user_id", "event_type", "element_id",
                               "timestamp", "stored_timestamp", "page_url", "data"]
    assert events[0].event_type == events[0]["event_type"]
    with pytest.raises(AttributeError):
        events[0].no_such_field


def test_events_filters_as_export(tmp_path, api):
    ws = Workspace(tmp_path, api, "sqlite")
    api.append(ws.study, 400)
    study = bdd.Study(ws.study, workdir=ws.dir)
    study.download()
    every = list(study.events())
    all_users = sorted({event["user_id"] for event in every})
    users = all_users[:len(all_users) // 2]
    all_kinds = sorted({event["event_type"] for event in every})
    kinds = all_kinds[:len(all_kinds) // 2]
    times = sorted(instant(event["timestamp"]) for event in every)
    since, until = times[100], times[300]
    stored = sorted(instant(event["stored_timestamp"]) for event in every)

    cases = {
        "users": (dict(users=users), lambda e: e["user_id"] in users),
        "one user": (dict(users=users[0]), lambda e: e["user_id"] == users[0]),
        "event types": (dict(event_types=kinds), lambda e: e["event_type"] in kinds),
        "since": (dict(since=since.isoformat()), lambda e: instant(e["timestamp"]) >= since),
        "until": (dict(until=until.isoformat()), lambda e: instant(e["timestamp"]) < until),
        "stored": (dict(since=stored[50].isoformat(), until=stored[60].isoformat(),
                        time_field="stored"),
                   lambda e: stored[50] <= instant(e["stored_timestamp"]) < stored[60]),
        "all together": (dict(users=users, event_types=kinds, since=since.isoformat()),
                         lambda e: e["user_id"] in users and e["event_type"] in kinds
                         and instant(e["timestamp"]) >= since),
    }
    for name, (arguments, keep) in cases.items():
        expected = [event for event in every if keep(event)]
        assert 0 < len(expected) < len(every), name
        assert list(study.events(**arguments)) == expected, name
    # The CLI's export keeps the same events.
    exported = ws.cli("export", ws.study, "--format", "jsonl", "-o", "-", "--user", users[0],
                      "--since", since.isoformat()).stdout.splitlines()
    assert ids(study.events(users=users[0], since=since.isoformat())) == [
        json.loads(line)["id"] for line in exported]


def test_events_is_lazy_and_holds_the_lock_while_it_reads(workspace):
    # More events than the reader reads ahead (4,096), so it is still reading after one.
    workspace.api.append(workspace.study, 6000)
    study = bdd.Study(workspace.study, workdir=workspace.dir)
    study.download()
    workspace.api.append(workspace.study, 10)
    events = study.events()
    first = next(events)
    assert first["data"] == workspace.server_events()[0]  # the oldest
    # A download cannot start under an open reader ...
    assert workspace.cli("download", workspace.study, check=False).returncode == 7
    events.close()
    # ... and can once it is closed.
    assert workspace.cli("download", workspace.study).returncode == 0
    assert study.status().events_stored == 6010


def test_a_bad_filter_fails_before_the_first_event_with_the_cli_message(workspace):
    workspace.api.append(workspace.study, 5)
    study = bdd.Study(workspace.study, workdir=workspace.dir)
    study.download()
    with pytest.raises(bdd.UsageError) as raised:
        study.events(since="yesterday")
    cli = workspace.cli("export", workspace.study, "--since", "yesterday", "-o", "-",
                        check=False)
    assert cli.returncode == 2
    assert str(raised.value) == cli_error(cli)
