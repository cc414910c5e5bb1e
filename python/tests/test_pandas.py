"""Study.to_pandas: the events as a DataFrame with typed columns, `data` as dicts or flattened
under the export's column names; a clear ImportError without pandas."""

import subprocess
import sys
import textwrap

import pandas as pd

import bdd


def test_to_pandas_types_and_values(workspace):
    workspace.api.append(workspace.study, 120)
    study = bdd.Study(workspace.study, workdir=workspace.dir)
    study.download()
    events = list(study.events())
    frame = study.to_pandas()
    assert list(frame.columns) == ["id", "study_name", "user_id", "event_type", "element_id",
                                   "timestamp", "stored_timestamp", "page_url", "data"]
    assert len(frame) == 120
    for name in ("id", "study_name", "user_id", "event_type", "element_id", "page_url"):
        assert frame[name].dtype == "string", name
    for name in ("timestamp", "stored_timestamp"):
        assert str(frame[name].dtype) == "datetime64[ns, UTC]", name
        assert list(frame[name]) == [pd.Timestamp(event[name]) for event in events]
    assert list(frame["id"]) == [event["id"] for event in events]
    assert list(frame["data"]) == [event["data"] for event in events]

    some = study.to_pandas(users=events[0]["user_id"])
    assert list(some["id"]) == [e["id"] for e in events if e["user_id"] == events[0]["user_id"]]


def test_to_pandas_flatten_names_columns_as_export(workspace):
    workspace.api.append(workspace.study, 60)
    study = bdd.Study(workspace.study, workdir=workspace.dir)
    study.download()
    frame = study.to_pandas(flatten=True)
    workspace.cli("export", workspace.study, "--format", "csv", "--flatten", "-o",
                  str(workspace.dir / "flat.csv"))
    exported = pd.read_csv(workspace.dir / "flat.csv", nrows=0)
    data_columns = [name for name in frame.columns if name.startswith("data.")]
    assert data_columns and "data" not in frame.columns
    assert data_columns == [name for name in exported.columns if name.startswith("data.")]
    first = study.to_pandas(flatten=True).iloc[0]
    raw = next(study.events())["data"]
    for key, value in raw.items():
        if not isinstance(value, dict):
            assert first[f"data.{key}"] == value


def test_to_pandas_says_how_to_get_pandas_when_it_is_missing(workspace):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["pandas"] = None  # as if pandas were not installed
        import bdd
        try:
            bdd.Study({workspace.study!r}, workdir={str(workspace.dir)!r}).to_pandas()
        except ImportError as error:
            print(error)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.stdout.strip() == ("bdd.Study.to_pandas needs pandas: install it (Debian: apt "
                                  "install python3-pandas; or pip install pandas)"), run.stderr
