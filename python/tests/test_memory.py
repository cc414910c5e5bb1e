"""Study.events() keeps memory flat: iterating a 300,000-event study (300 files) raises the peak
RSS of the process by the reader's buffers only, while the study's events as dicts would take
about a gigabyte."""

import json
import subprocess
import sys
import textwrap

import bdd
from conftest import Workspace

EVENTS = 300_000

CHILD = textwrap.dedent("""
    import json, resource, sys
    import bdd
    study = bdd.Study(sys.argv[1], workdir=sys.argv[2])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    events = study.events()
    first = next(events)
    count, newest = 1, first["stored_timestamp"]
    for event in events:
        count += 1
        newest = max(newest, event["stored_timestamp"])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"count": count, "newest": newest, "before_kib": before,
                      "after_kib": after}))
""")


def peak_growth(tmp_path, api, count):
    """Iterate `count` events in a fresh process: its peak RSS before and after, in KiB."""
    tmp_path.mkdir()
    ws = Workspace(tmp_path, api, "jsonl", ["by_user_id"])
    config = json.loads((ws.dir / "study_configs" / f"{ws.study}.json").read_text())
    config["download"]["default_page_size"] = 1000
    (ws.dir / "study_configs" / f"{ws.study}.json").write_text(json.dumps(config))
    api.append(ws.study, count)
    ws.cli("download", ws.study)
    run = subprocess.run([sys.executable, "-c", CHILD, ws.study, str(ws.dir)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    measured = json.loads(run.stdout)
    status = bdd.Study(ws.study, workdir=ws.dir).status()
    assert measured["count"] == count == status.events_stored
    assert measured["newest"] == status.newest_stored_timestamp
    return measured


def test_events_of_300k_events_in_flat_memory(tmp_path, api):
    small = peak_growth(tmp_path / "small", api, EVENTS // 3)
    large = peak_growth(tmp_path / "large", api, EVENTS)
    growth = [(m["after_kib"] - m["before_kib"]) / 1024 for m in (small, large)]
    print(f"peak RSS growth: {growth[0]:.1f} MiB over {EVENTS // 3} events, "
          f"{growth[1]:.1f} MiB over {EVENTS} (peak {large['after_kib'] / 1024:.1f} MiB)")
    # Three times the events, about the same memory: the reader's bounded buffers (a sorted
    # run of 24 MiB, the files' read buffers, 8 MiB read ahead), not the events.
    assert growth[1] < growth[0] + 16
    assert growth[1] < 100
