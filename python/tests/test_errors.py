"""Every failure is a bdd.Error subclass with the CLI's one-line message, never a key, never a
crash; the CLI, run on the same workspace, prints the same message with the matching exit code."""

import fcntl
import json
import os

import pytest

import bdd
from conftest import FakeApi, Workspace, cli_error


def raised_by(call, kind):
    with pytest.raises(kind) as raised:
        call()
    error = raised.value
    assert isinstance(error, bdd.Error) and error.kind == kind.kind
    assert "\n" not in str(error) and str(error) == error.message
    return str(error)


def test_usage_error_for_a_bad_study_name(workspace):
    message = raised_by(bdd.Study("../up", workdir=workspace.dir).status, bdd.UsageError)
    cli = workspace.cli("status", "../up", check=False)
    assert cli.returncode == 2 and message == cli_error(cli)


def test_usage_error_for_events_of_a_study_never_downloaded(workspace):
    message = raised_by(lambda: bdd.Study(workspace.study, workdir=workspace.dir).events(),
                        bdd.UsageError)
    assert message == (f'no local data for study "{workspace.study}" in '
                       f'"{workspace.study_dir}" (run `bdd download {workspace.study}` first)')


def test_config_error_without_a_key(workspace):
    (workspace.dir / ".env").unlink()
    message = raised_by(bdd.Study(workspace.study, workdir=workspace.dir).download,
                        bdd.ConfigError)
    cli = workspace.cli("download", workspace.study, check=False)
    assert cli.returncode == 3 and message == cli_error(cli)


def test_auth_error_never_shows_the_key(workspace):
    wrong = "wrong-key-0123456789"
    (workspace.dir / ".env").write_text(f"{workspace.variable}={wrong}\n")
    message = raised_by(bdd.Study(workspace.study, workdir=workspace.dir).download,
                        bdd.AuthError)
    assert wrong not in message
    cli = workspace.cli("download", workspace.study, check=False)
    assert cli.returncode == 4 and message == cli_error(cli)


def test_an_error_that_echoes_the_key_is_redacted(tmp_path):
    api = FakeApi(tmp_path)
    try:
        ws = Workspace(tmp_path, api)
        api.append(ws.study, 10)
        api.faults(next_echo_key=1, echo_key_status=401)
        message = raised_by(bdd.Study(ws.study, workdir=ws.dir).download, bdd.AuthError)
        assert ws.key not in message and ws.key[4:20] not in message
    finally:
        api.stop()


def test_not_found_for_a_study_the_server_does_not_know(workspace):
    workspace.configure(study="not-on-server")
    (workspace.dir / ".env").write_text(f"BEHAVERSE_API_KEY_NOT_ON_SERVER={workspace.key}\n")
    message = raised_by(bdd.Study("not-on-server", workdir=workspace.dir).download,
                        bdd.NotFoundError)
    cli = workspace.cli("download", "not-on-server", check=False)
    assert cli.returncode == 5 and message == cli_error(cli)


def test_network_error_when_the_server_is_unreachable(workspace):
    workspace.configure(base_url="http://127.0.0.1:9", max_retries=0)
    message = raised_by(bdd.Study(workspace.study, workdir=workspace.dir).download,
                        bdd.NetworkError)
    cli = workspace.cli("download", workspace.study, check=False)
    assert cli.returncode == 6 and message.split(":")[0] == cli_error(cli).split(":")[0]


def test_protocol_error_for_a_body_that_is_not_json(tmp_path):
    api = FakeApi(tmp_path)
    try:
        ws = Workspace(tmp_path, api)
        ws.configure(max_retries=0)
        api.append(ws.study, 10)
        api.faults(next_invalid_json=100)
        raised_by(bdd.Study(ws.study, workdir=ws.dir).download, bdd.ProtocolError)
    finally:
        api.stop()


def test_locked_error_while_another_download_holds_the_study(workspace):
    workspace.api.append(workspace.study, 10)
    (workspace.dir / "data").mkdir()
    with open(workspace.dir / "data" / f".{workspace.study}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        message = raised_by(bdd.Study(workspace.study, workdir=workspace.dir).download,
                            bdd.LockedError)
        cli = workspace.cli("download", workspace.study, check=False)
        assert cli.returncode == 7 and message == cli_error(cli)


def test_storage_error_for_corrupt_metadata(workspace):
    workspace.api.append(workspace.study, 10)
    study = bdd.Study(workspace.study, workdir=workspace.dir)
    study.download()
    (workspace.study_dir / ".metadata.json").write_text("{not json")
    message = raised_by(study.status, bdd.StorageError)
    cli = workspace.cli("status", workspace.study, check=False)
    assert cli.returncode == 8 and message == cli_error(cli, workspace)


def test_storage_error_for_a_damaged_data_file_while_reading(workspace):
    workspace.api.append(workspace.study, 50)
    study = bdd.Study(workspace.study, workdir=workspace.dir)
    study.download()
    data = workspace.study_dir / "events.jsonl"
    lines = data.read_text().splitlines(keepends=True)
    lines[20] = "{cut short\n"
    data.write_text("".join(lines))
    with pytest.raises(bdd.StorageError):
        list(study.events())
    # verify reports it as a finding, not an exception.
    report = study.verify()
    assert not report.ok and "parse" in {finding.kind for finding in report.findings}


def test_the_exception_classes_cover_every_kind_the_cli_has():
    kinds = {"usage", "config", "auth", "not_found", "bad_request", "network", "protocol",
             "storage", "interrupted", "locked", "internal", "unusable_data"}
    classes = [getattr(bdd, name) for name in bdd.__all__ if name.endswith("Error")]
    assert {cls.kind for cls in classes if cls is not bdd.Error} == kinds
    assert all(issubclass(cls, bdd.Error) for cls in classes)
    assert not issubclass(bdd.InterruptedError, OSError)


def test_the_environment_is_read_at_each_call(workspace, monkeypatch):
    (workspace.dir / ".env").unlink()
    workspace.api.append(workspace.study, 5)
    study = bdd.Study(workspace.study, workdir=workspace.dir)
    with pytest.raises(bdd.ConfigError):
        study.download()
    monkeypatch.setenv(workspace.variable, workspace.key)
    assert study.download().events_added == 5
    assert os.environ[workspace.variable] == workspace.key
    json.dumps(study.history())  # records are plain JSON values
