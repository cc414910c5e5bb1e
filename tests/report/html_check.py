#!/usr/bin/env python3
"""report.html in a real browser: the fixtures, and the checks on what chromium made of them.

    html_check.py fixtures DIR   writes DIR/<case>.json, a report document per case
    html_check.py check DIR      checks DIR/<case>.dom.html (chromium --dump-dom),
                                 DIR/<case>.png (--screenshot) and DIR/<case>.netlog.json
                                 (--log-net-log), and DIR/control.netlog.json

The expected numbers are computed here from the documents, independently of bdd's renderer:
one point per entry of events_per_day, one bar per event type (30 at most), one cell per
non-zero (participant, column) of the 200 most active participants, columns of 7 days past 120
days. Run by tests/report/html.sh; exits 1 with the failures listed.
"""
import datetime
import json
import pathlib
import re
import struct
import sys
import zlib
from html.parser import HTMLParser

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
# "bdd" is written by html.sh: `bdd report --json` of a downloaded study, and its report.html.
CASES = ("study", "hostile", "empty", "large", "bdd")
SCREENSHOTS = ("study", "hostile", "bdd")
LONG_ID = "x" * 10_000
HOSTILE_STUDY = "<script>alert(1)</script>"
HOSTILE_USERS = ['"><img src=x onerror=alert(1)>', "<svg onload=alert(1)>", "\u202egnp.exe",
                 LONG_ID, "' onmouseover='alert(1)"]
HOSTILE_TYPE = '</text></svg><script>alert(2)</script><a href="http://127.0.0.1:9/a">a</a>'
HOSTILE_FIELD = "<style>@import url(http://127.0.0.1:9/x.css)</style>"
HOSTILE_MESSAGE = '<img src="http://127.0.0.1:9/leak.png"> <iframe src="https://127.0.0.1:9/">'

failures = []


def fail(message):
    failures.append(message)


def check_equal(what, got, expected):
    if got != expected:
        fail(f"{what}: got {got!r}, expected {expected!r}")


# --- the fixtures -------------------------------------------------------------------------

def document(users, days, counts, event_types, study="demo-study"):
    """A report document (the contract of `bdd report --json`) for `counts[user][day]`."""
    start = datetime.date(2026, 3, 1)
    dates = [(start + datetime.timedelta(days=d)).isoformat() for d in range(days)]
    per_day = [sum(counts[u][d] for u in range(len(users))) for d in range(days)]
    total = sum(per_day)
    return {
        "study": study, "bdd_version": "0.1.0", "generated_at": "2026-12-07T23:00:00Z",
        "filters": {"since": "2026-03-01", "until": None, "time_field": "timestamp",
                    "users": [], "event_types": []},
        "overview": {"events": total, "participants": len(users),
                     "event_types": len(event_types),
                     "first_event": dates[0] + "T08:00:00Z" if total else None,
                     "last_event": dates[-1] + "T20:00:00Z" if total else None,
                     "days": sum(1 for n in per_day if n)},
        "events_per_day": [{"date": dates[d], "events": n} for d, n in enumerate(per_day) if n],
        "event_types": [{"event_type": name, "events": n, "first_event": dates[0] + "T08:00:00Z",
                         "last_event": dates[-1] + "T20:00:00Z"} for name, n in event_types],
        "participants": [{"user_id": user, "events": sum(counts[u]),
                          "first_event": dates[0] + "T08:00:00Z",
                          "last_event": dates[-1] + "T20:00:00Z",
                          "active_days": sum(1 for n in counts[u] if n),
                          "longest_silence_seconds": 86400.0 * 3, "events_by_type": {},
                          "events_without_index": 0, "missing_indexes": 2,
                          "duplicate_indexes": 0, "missing_ranges": [[4, 5]]}
                         for u, user in enumerate(users)],
        "activity": {"days": dates if total else [],
                     "rows": [{"user_id": user, "counts": counts[u]}
                              for u, user in enumerate(users)] if total else []},
        "missing_fields": [{"event_type": "click", "field": "data.x", "events": 10,
                            "missing": 4, "share": 0.4}],
        "sequence_gaps": [{"user_id": users[0], "from": 4, "to": 5, "count": 2}] if users else [],
        "findings": [{"kind": "sequence_gap", "message": "2 events of a participant are missing"}],
        "notes": ["times are the participants' clocks"],
    }


def fixtures():
    users = ["alice", "bob", "carol", "dave", "erin"]
    # 20 days; nobody sends anything on days 8 to 10, so the line drops to zero there.
    counts = [[0 if 8 <= d <= 10 else (u + d) % 4 * (u + 1) for d in range(20)]
              for u in range(len(users))]
    types = [("click", 120), ("view", 300), ("answer", 45), ("start", 5), ("end", 5), ("help", 1)]
    study = document(users, 20, counts, types)

    hostile = document(HOSTILE_USERS, 20, counts, [(HOSTILE_TYPE, 10)] + types[1:],
                       study=HOSTILE_STUDY)
    hostile["missing_fields"][0]["field"] = HOSTILE_FIELD
    hostile["findings"][0]["message"] = HOSTILE_MESSAGE
    hostile["findings"][0]["kind"] = "<b>new</b>"
    hostile["filters"]["users"] = HOSTILE_USERS

    empty = document([], 1, [], [])

    large_users = [f"user{u:04d}" for u in range(2000)]
    large_counts = [[(u + 1) if (d + u) % 3 else 0 for d in range(365)] for u in range(2000)]
    large = document(large_users, 365, large_counts, [(f"type{t}", 10 + t) for t in range(12)])
    return {"study": study, "hostile": hostile, "empty": empty, "large": large}


def expected_counts(doc):
    """What the page must draw for `doc`: points, bars and heatmap cells."""
    rows = doc["activity"]["rows"]
    days = len(doc["activity"]["days"])
    totals = [sum(row["counts"]) for row in rows]
    chosen = sorted(sorted(range(len(rows)), key=lambda i: -totals[i])[:200])
    width = 1 if days <= 120 else 7 if (days + 6) // 7 <= 120 else -(-days // 120)
    columns = -(-days // width)
    cells = sum(1 for i in chosen for c in range(columns)
                if sum(rows[i]["counts"][c * width:(c + 1) * width]) > 0)
    return {"point": len(doc["events_per_day"]), "bar": min(30, len(doc["event_types"])),
            "cell": cells}


# --- what chromium built ------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Dom(HTMLParser):
    """The parts of a dumped DOM the checks look at."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []          # (tag, id, classes)
        self.counts = {}         # (svg id, tag, class) -> n
        self.tags = {}           # tag -> n
        self.links = []          # (tag, attribute, value) of every src/href/xlink:href/action
        self.handlers = []       # (tag, attribute) of every on* attribute
        self.meta_csp = []
        self.text = {}           # element id -> its text
        self.cells = []          # text of every <td>
        self.svg_texts = {}      # svg id -> [text of each <text>]
        self.svgs = []           # ids of the <svg> elements, in order

    def svg_id(self):
        for tag, element_id, _ in reversed(self.stack):
            if tag == "svg":
                return element_id
        return None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name))
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
                self.links.append((tag, name, value))
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == \
                "content-security-policy":
            self.meta_csp.append(attributes.get("content"))
        classes = (attributes.get("class") or "").split()
        if tag == "svg":
            self.svgs.append(attributes.get("id"))
        svg = self.svg_id() if tag != "svg" else None
        for name in classes:
            key = (svg, tag, name)
            self.counts[key] = self.counts.get(key, 0) + 1
        if tag not in VOID:
            self.stack.append((tag, attributes.get("id"), classes))
            if tag == "td":
                self.cells.append("")
            if tag == "text" and self.svg_id() is not None:
                self.svg_texts.setdefault(self.svg_id(), []).append("")

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        inside = [entry[0] for entry in self.stack]
        for _, element_id, _ in self.stack:
            if element_id:
                self.text[element_id] = self.text.get(element_id, "") + data
        if "td" in inside:
            self.cells[-1] += data
        if "text" in inside and "title" not in inside and self.svg_id() is not None:
            self.svg_texts[self.svg_id()][-1] += data

    def count(self, svg, tag, name):
        return self.counts.get((svg, tag, name), 0)


def shown(text):
    """What the page shows for a string of the document: controls as [U+XXXX]."""
    return re.sub("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]",
                  lambda m: f"[U+{ord(m.group()):04X}]", text)


def check_dom(case, doc, dom):
    expected = expected_counts(doc)
    check_equal(f"{case}: svg#events-per-day circle.point",
                dom.count("events-per-day", "circle", "point"), expected["point"])
    check_equal(f"{case}: svg#event-types rect.bar",
                dom.count("event-types", "rect", "bar"), expected["bar"])
    check_equal(f"{case}: svg#activity rect.cell",
                dom.count("activity", "rect", "cell"), expected["cell"])
    check_equal(f"{case}: the charts", dom.svgs, ["events-per-day", "activity", "event-types"])
    check_equal(f"{case}: Content-Security-Policy", dom.meta_csp, [CSP])
    check_equal(f"{case}: elements that run or fetch",
                {t: n for t, n in dom.tags.items()
                 if t in ("script", "img", "iframe", "object", "embed", "link", "a", "form",
                          "video", "audio", "image", "use", "foreignobject", "b")},
                {})
    check_equal(f"{case}: <style> elements", dom.tags.get("style"), 1)
    check_equal(f"{case}: event handler attributes", dom.handlers, [])
    check_equal(f"{case}: src/href attributes",
                [link for link in dom.links
                 if not (link[2] or "").startswith(("#", "data:"))], [])
    check_equal(f"{case}: the page ends with its footer", "footer" in dom.tags, True)
    # Each table: a header row and a row per entry (200 at most); the missing fields table
    # lists the fields that are missing somewhere.
    rows = {table: doc[table] for table in ("event_types", "participants", "sequence_gaps")}
    rows["missing_fields"] = [row for row in doc["missing_fields"] if row["missing"] > 0]
    check_equal(f"{case}: table rows", dom.tags.get("tr", 0),
                sum(1 + min(200, len(entries)) for entries in rows.values() if entries))
    if case == "empty":
        for svg in ("events-per-day", "activity", "event-types"):
            check_equal(f"empty: svg#{svg} says", dom.svg_texts.get(svg), ["no events"])
    if case == "hostile":
        check_equal("hostile: the study as text", dom.text.get("study"), HOSTILE_STUDY)
        for user in HOSTILE_USERS:
            want = shown(user) if len(user) <= 120 else user[:120] + "\u2026"
            check_equal(f"hostile: user {user[:40]!r} as a table cell", want in dom.cells, True)
        check_equal("hostile: the event type as a table cell", HOSTILE_TYPE in dom.cells, True)
        check_equal("hostile: the field as a table cell", HOSTILE_FIELD in dom.cells, True)
        check_equal("hostile: the finding as text",
                    HOSTILE_MESSAGE in dom.text.get("findings", ""), True)
        check_equal("hostile: the bar's label",
                    HOSTILE_TYPE[:34] + "\u2026" in dom.svg_texts["event-types"], True)


def read_png(path):
    """Width, height and the RGB(A) rows of an 8-bit truecolour PNG (what chromium writes)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is no PNG")
    offset, idat, header = 8, b"", None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour = header[0], header[1], header[2], header[3]
    if depth != 8 or colour not in (2, 6):
        raise ValueError(f"{path}: unexpected PNG format (depth {depth}, colour type {colour})")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + predictor) & 0xFF
        rows.append(bytes(row))
        previous = row
    return width, height, channels, rows


def check_screenshot(case, path):
    if not path.is_file() or path.stat().st_size == 0:
        fail(f"{case}: no screenshot at {path}")
        return
    width, height, channels, rows = read_png(path)
    check_equal(f"{case}: screenshot size", (width, height), (1280, 2000))
    colours = {}
    for row in rows[::2]:
        for x in range(0, width * channels, channels * 2):
            pixel = row[x:x + 3]
            colours[pixel] = colours.get(pixel, 0) + 1
    # The bars and the line (#2b6cb0; the header rule alone is ~500 sampled pixels), the
    # heatmap's darkest shade (#08519c).
    accent = colours.get(bytes((0x2B, 0x6C, 0xB0)), 0)
    darkest = colours.get(bytes((0x08, 0x51, 0x9C)), 0)
    if len(colours) < 20 or accent < 2000 or darkest < 200:
        fail(f"{case}: the screenshot does not show the charts ({len(colours)} colours, "
             f"{accent} accent and {darkest} darkest-shade pixels sampled)")


def page_requests(path):
    """The URLs of the requests the page made, from chromium's net log: chromium's own (the
    component updater, the clock, the accounts) have no initiator ("not an origin"), a page's
    come from its origin ("null" for a file:// page)."""
    if not path.is_file() or path.stat().st_size == 0:
        fail(f"no net log at {path}")
        return []
    text = path.read_text(errors="replace")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:
        log = json.loads(text.rstrip().rstrip(",") + "]}")  # chromium ended before closing it
    types = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    return [event["params"].get("url") for event in log["events"]
            if types.get(event["type"]) == "URL_REQUEST_START_JOB" and "url" in event.get("params", {})
            and event["params"].get("initiator") != "not an origin"]


def check(directory):
    docs = {case: json.loads((directory / f"{case}.json").read_text()) for case in CASES}
    for case in CASES:
        dom = Dom()
        dom.feed((directory / f"{case}.dom.html").read_text())
        dom.close()
        check_dom(case, docs[case], dom)
        check_equal(f"{case}: requests of the page", page_requests(directory / f"{case}.netlog.json"),
                    [])
    # The hostile page's URLs are nowhere in the net log, whoever would have asked for them.
    check_equal("hostile: its URLs in the net log",
                "127.0.0.1:9" in (directory / "hostile.netlog.json").read_text(), False)
    for case in SCREENSHOTS:
        check_screenshot(case, directory / f"{case}.png")
    # The check sees a page's requests: the control page (no CSP) asks for an image.
    check_equal("control: the requests of the page", page_requests(directory / "control.netlog.json"),
                ["http://127.0.0.1:9/control.png"])


def main():
    command, directory = sys.argv[1], pathlib.Path(sys.argv[2])
    if command == "fixtures":
        for case, doc in fixtures().items():
            (directory / f"{case}.json").write_text(json.dumps(doc))
        (directory / "control.html").write_text(
            '<!DOCTYPE html><title>control</title><img src="http://127.0.0.1:9/control.png">')
    else:
        check(directory)
    for message in failures:
        print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
