"""Fixtures of the Python tests: the fake Behaverse API (bdd-demo-server) on 127.0.0.1 and a
working directory configured for one study on it, as a user's would be.

Run by CTest (test `python`, python/CMakeLists.txt), which sets PYTHONPATH to the built
packages and BDD_BINARY / BDD_DEMO_SERVER to the built programs.
"""

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

import pytest

BDD = os.environ.get("BDD_BINARY", "")
SERVER = os.environ.get("BDD_DEMO_SERVER", "")
if not (BDD and SERVER):
    sys.exit("run these tests through ctest (ctest -R python): BDD_BINARY and BDD_DEMO_SERVER "
             "must name the built bdd and bdd-demo-server")

FORMATS = ["json", "jsonl", "csv", "sqlite", "parquet"]


class FakeApi:
    """A running bdd-demo-server and its /_control endpoints."""

    def __init__(self, tmp: Path, *options: str) -> None:
        port_file = tmp / f"port-{uuid.uuid4().hex}"
        self.process = subprocess.Popen(
            [SERVER, "--port", "0", "--port-file", str(port_file), "--study", "unused:unused:1",
             *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("bdd-demo-server did not start")
            time.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{int(port_file.read_text())}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()

    def _call(self, method: str, path: str, body: bytes = b"", **params):
        query = urllib.parse.urlencode(params)
        request = urllib.request.Request(f"{self.base_url}/_control/{path}?{query}",
                                         data=body if method == "POST" else None, method=method)
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read() or b"null")

    def add_study(self, name: str, key: str, count: int) -> None:
        self._call("POST", "studies", name=name, key=key, count=count)

    def append(self, name: str, count: int) -> None:
        self._call("POST", "append", study=name, count=count)

    def events(self, name: str) -> list:
        """The study's raw events, in the server's order."""
        return self._call("GET", "events", study=name)["events"]

    def faults(self, **fields) -> None:
        self._call("POST", "faults", body=json.dumps(fields).encode())


class Workspace:
    """A working directory (what `bdd -C` names) with `study_configs/<study>.json` for a study
    of its own on `api`, its key in `.env`, and `data/` for the study folder."""

    def __init__(self, root: Path, api: FakeApi, storage_format: str = "jsonl",
                 folder_structure=(), study: str = "") -> None:
        self.dir = root
        self.api = api
        self.study = study or f"study-{uuid.uuid4().hex[:10]}"
        self.key = f"key-{uuid.uuid4().hex}"
        self.variable = "BEHAVERSE_API_KEY_" + self.study.upper().replace("-", "_")
        api.add_study(self.study, self.key, 0)
        (root / ".env").write_text(f"{self.variable}={self.key}\n")
        (root / ".env").chmod(0o600)
        self.configure(storage_format=storage_format, folder_structure=list(folder_structure))

    def configure(self, base_url=None, storage_format="jsonl", folder_structure=(),
                  max_retries=5, study=None) -> None:
        config = {
            "study_name": study or self.study,
            "api": {"base_url": base_url or self.api.base_url,
                    "api_key": "${" + self.variable + "}", "timeout": 10,
                    "max_retries": max_retries, "retry_delay": 0.01},
            "download": {"default_page_size": 100, "max_concurrent_requests": 3},
            "storage": {"data_directory": "data", "default_format": storage_format,
                        "folder_structure": list(folder_structure)},
        }
        (self.dir / "study_configs").mkdir(exist_ok=True)
        (self.dir / "study_configs" / f"{study or self.study}.json").write_text(json.dumps(config))

    @property
    def study_dir(self) -> Path:
        return self.dir / "data" / self.study

    def server_events(self) -> list:
        return self.api.events(self.study)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`bdd -C <dir> args...`, with the process environment (the key comes from .env)."""
        result = subprocess.run([BDD, "-C", str(self.dir), *args], capture_output=True,
                                text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"bdd {' '.join(args)} exited {result.returncode}: "
                                 f"{result.stderr}")
        return result


@pytest.fixture(scope="session")
def api(tmp_path_factory):
    server = FakeApi(tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


@pytest.fixture
def workspace(tmp_path, api):
    return Workspace(tmp_path, api)


def instant(text: str) -> datetime:
    """An ISO-8601 time with Z or an offset, as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_server_events(events, server: list) -> None:
    """bdd's `events` (dicts of Study.events) hold exactly the `server`'s raw events, each once,
    whole and unchanged, in bdd's export order: stored time, then id. That is the server's order
    (which is by stored time) except among events stored at the same instant, whose order on
    the server a local copy does not record."""
    events = list(events)
    def canonical(raw):
        return json.dumps(raw, sort_keys=True)
    assert sorted(canonical(event["data"]) for event in events) == sorted(map(canonical, server))
    keys = [(instant(event["stored_timestamp"]), event["id"]) for event in events]
    assert keys == sorted(keys)
    assert [key[0] for key in keys] == [instant(raw["stored"]) for raw in server]


def cli_error(result: subprocess.CompletedProcess, workspace: "Workspace" = None) -> str:
    """The message of the CLI's `bdd: error: <message>` line. With `workspace`, its paths are
    made absolute as Python shows them: `bdd -C <dir>` runs in <dir>, Python in its own
    current directory."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("bdd: error: ")]
    assert len(lines) == 1, result.stderr
    message = lines[0][len("bdd: error: "):]
    if workspace is not None:
        message = message.replace('"data/', f'"{workspace.dir}/data/')
    return message
