#!/usr/bin/env python3
"""The bdd benchmark driver; bench/run.sh builds the binaries and calls it. Standard library only.

One fake API server (no added latency) holds a small and a large generated study. Measured, in
this order:
  1. the transport: the study's pages fetched by `curl --parallel` into /dev/null, with the
     page size and concurrency bdd uses; and the same fetch into new files next to bdd's
     workspaces, then one `sync -f`: the reference of the flat layout (jsonl []);
  2. fresh `bdd download` into every format, with the default folder structure and with []; after
     the last run of each nested text case, `cp -a` of its leaf tree into a new folder + `sync -f`:
     with the transport into /dev/null, the reference of the nested layouts;
  3. on the large study, in the workspaces the last fresh runs left: an incremental run after
     appending 1% new events, a no-op run, `bdd status` and `bdd verify` (against the fresh
     download of the same case);
     and, for the jsonl workspaces, `bdd export` of the copy to each of EXPORT_FORMATS (events/s
     and peak RSS; the output checked to hold the stored events); and a DuckDB query over the
     study folder (DUCKDB_READERS; through tests/loaders' @duckdb/node-api, node's start included);
  4. scale, on a server of its own with a 5M study: one fresh jsonl [] download (its events/s
     against the large study's) and its verify;
  5. latency, on a server that adds 50 ms to every request: curl and bdd with 1 and 4 requests in
     flight.
Every bdd run gets its exit code checked and its stored event count compared with the server's
total: a run that fails either check is reported and left out of the medians. The targets are
those of issue 12 ("Speed, re-based"): every reference is measured in the same run.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import textwrap
import time
import urllib.request

FORMATS = ["jsonl", "csv", "json", "sqlite", "parquet"]
STRUCTURES = {"[]": [], "default": ["by_user_id", "by_date"]}
PAGE_SIZE = 1000
CONCURRENCY = 3
SLOW_RUN_S = 45  # a case whose first run takes longer runs only once
STATUS_RUNS = 5
# Workspaces with more files than this are deleted only at the end: ext4 allocates inodes several
# times slower for about a minute after many were deleted, which would slow the next run down.
MANY_FILES = 1000
DEFER_DISK_GIB = {True: 3, False: 30}  # free space needed to defer, by --quick
TRANSPORT_RUNS = 5
LATENCY_MS = 50
LATENCY_EVENTS = 10_000
LATENCY_PAGE_SIZE = 100  # 100 requests: the 50 ms latency dominates, not the parsing
SCALE_EVENTS = {False: 5_000_000, True: 500_000}  # by --quick

# Targets (issue 12): flat jsonl against curl into files + sync, at both sizes; nested text
# layouts against curl into /dev/null + `cp -a` of the same leaf tree + sync; with latency,
# against curl with the same concurrency; events/s at the scale size against the large size;
# verify against the fresh download of the same case.
FLAT_LIMIT = 1.5
NESTED_LIMIT = 1.1
NESTED_FORMATS = ["jsonl", "csv", "json"]
LATENCY_LIMIT = 1.1
SCALE_LIMIT = 0.8
VERIFY_LIMIT = 0.5
RSS_LIMIT_MIB = 64
INCREMENTAL_LIMIT = 0.05
NOOP_LIMIT_S = 0.3
NOOP_REQUESTS = (1, 2)
STATUS_LIMIT_S = 0.050

# `bdd export` (issue 13) of the large jsonl copies, to these formats ("flat-csv": csv with
# --flatten, one column per value of `data`); the target is jsonl from the flat jsonl copy.
EXPORT_FORMATS = ["jsonl", "csv", "flat-csv"]
EXPORT_EVENTS_S = 300_000

# A DuckDB query over each format's study folder (issue 14): the events per event type, read by
# DuckDB's reader of the format from every data file. sqlite is left out: DuckDB reads it through
# an extension it downloads on first use.
DUCKDB_READERS = {
    "jsonl": "read_json('{dir}/**/*.jsonl')",
    "csv": "read_csv('{dir}/**/*.csv')",
    "json": "read_json('{dir}/**/events.json')",
    "parquet": "read_parquet('{dir}/**/*.parquet')",
}
DUCKDB_QUERY = "SELECT event_type, count(*) AS n FROM {reader} GROUP BY event_type"
DUCKDB_COUNT = "SELECT * FROM {reader}"  # duckdb_count.js counts its rows
LOADERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "loaders")

KIB = 1024
MIB = 1024 * 1024


def size_label(count):
    if count >= 1_000_000 and count % 1_000_000 == 0:
        return f"{count // 1_000_000}M"
    if count % 1000 == 0:
        return f"{count // 1000}k"
    return str(count)


def key_variable(study):
    return "BEHAVERSE_API_KEY_" + "".join(c if c.isalnum() else "_" for c in study.upper())


def clean_environment():
    """The environment for every child: no proxy, so that all traffic stays on the loopback."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("BEHAVERSE_API_KEY", None)
    return env


def log(message):
    print(message, flush=True)


class Server:
    """One bdd-demo-server process and its /_control endpoints."""

    def __init__(self, binary, studies, work, log_file, extra=()):
        port_file = os.path.join(work, f"port-{time.monotonic_ns()}")
        command = [binary, "--port", "0", "--port-file", port_file]
        for name, key, count in studies:
            command += ["--study", f"{name}:{key}:{count}"]
        command += list(extra)
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file,
                                        stderr=log_file, env=clean_environment())
        deadline = time.monotonic() + 300
        while not os.path.exists(port_file):
            if self.process.poll() is not None:
                raise RuntimeError(f"bdd-demo-server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("bdd-demo-server did not start within 300 s")
            time.sleep(0.05)
        with open(port_file) as f:
            self.url = f"http://127.0.0.1:{int(f.read())}"
        os.remove(port_file)
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def control(self, method, path):
        data = b"" if method == "POST" else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with self.opener.open(request, timeout=120) as response:
            return json.load(response)

    def total(self, study):
        for entry in self.control("GET", "/_control/studies"):
            if entry["name"] == study:
                return entry["total"]
        raise RuntimeError(f"the server has no study {study}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Bench:
    def __init__(self, options):
        self.options = options
        self.out = os.path.abspath(options.out)
        self.work = os.path.join(self.out, "work")
        leftover = sum(len(names) for _, _, names in os.walk(self.work))
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        if leftover > MANY_FILES:  # an interrupted run's workspaces: see MANY_FILES
            log(f"deleted {leftover} files left by an earlier run; waiting 60 s for ext4")
            time.sleep(60)
        self.log_file = open(os.path.join(self.out, "bench.log"), "w")
        self.bdd = os.path.abspath(options.bdd)
        self.env = clean_environment()
        self.notes = []
        self.failures = []  # bdd runs that failed or stored the wrong count
        self.started = time.monotonic()
        self.workspace_count = 0
        self.loads = []  # the 1-minute load average after each bdd run: other work on the machine
        self.all_runs = []  # (label, run) of every bdd run, for the peak RSS target
        self.trash = []  # workspaces with many files and curl's pages, deleted at the end
        free_gib = shutil.disk_usage(self.work).free / 1024**3
        self.defer = free_gib >= DEFER_DISK_GIB[options.quick]
        if not self.defer:
            self.notes.append(f"only {free_gib:.0f} GiB free: workspaces were deleted between runs, "
                              "which slows file creation in the next run (nested structures)")

    # --- running things -------------------------------------------------------------------

    def discard(self, workspace):
        """Deletes a workspace now, or at the end if it holds many files (see MANY_FILES)."""
        files = sum(len(names) for _, _, names in os.walk(workspace))
        if self.defer and files > MANY_FILES:
            self.trash.append(workspace)
        else:
            shutil.rmtree(workspace)

    def over_budget(self):
        return time.monotonic() - self.started > self.options.budget_min * 60

    def run_bdd(self, workspace, *arguments):
        """Runs bdd in `workspace`; returns its exit code, wall time, and CPU time and peak RSS
        (from wait4, as /usr/bin/time would report them)."""
        self.log_file.write(f"\n== bdd -C {workspace} {' '.join(arguments)}\n")
        self.log_file.flush()
        start = time.perf_counter()
        process = subprocess.Popen([self.bdd, "-C", workspace, *arguments],
                                   stdin=subprocess.DEVNULL, stdout=self.log_file,
                                   stderr=self.log_file, env=self.env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        self.loads.append(os.getloadavg()[0])
        run = {"exit": process.returncode, "wall_s": wall, "rss_kib": usage.ru_maxrss,
               "cpu_s": usage.ru_utime + usage.ru_stime}
        self.all_runs.append((f"{os.path.basename(workspace)} {' '.join(arguments)}", run))
        return run

    def workspace(self, server, study, fmt, structure, page_size, concurrency):
        """A fresh directory with study_configs/<study>.json; the key goes in the environment."""
        self.workspace_count += 1
        path = os.path.join(self.work, f"ws{self.workspace_count}")
        os.makedirs(os.path.join(path, "study_configs"))
        config = {
            "study_name": study,
            "api": {"base_url": server.url, "api_key": "${" + key_variable(study) + "}"},
            "download": {"default_page_size": page_size, "max_concurrent_requests": concurrency},
            "storage": {"data_directory": os.path.join(path, "data"), "default_format": fmt,
                        "folder_structure": structure},
        }
        with open(os.path.join(path, "study_configs", f"{study}.json"), "w") as f:
            json.dump(config, f, indent=2)
        self.env[key_variable(study)] = self.keys[study]
        return path

    def download(self, server, workspace, study, label):
        """One `bdd download`, checked against the server's total; counts its requests."""
        expected = server.total(study)
        server.control("POST", "/_control/stats/reset")
        os.sync()  # so that writeback of earlier runs (and of rmtree) does not land in this one
        run = self.run_bdd(workspace, "download", study)
        stats = server.control("GET", "/_control/stats")
        run["requests"] = stats["requests"]
        run["bytes"] = stats["bytes_served"]
        run["expected"] = expected
        try:
            with open(os.path.join(workspace, "data", study, ".metadata.json")) as f:
                run["stored"] = json.load(f).get("events_stored")
        except (OSError, ValueError):
            run["stored"] = None
        run["ok"] = run["exit"] == 0 and run["stored"] == expected
        if not run["ok"]:
            problem = (f"{label}: exit {run['exit']}, {run['stored']} events stored, "
                       f"{expected} expected (see {self.log_file.name})")
            self.failures.append(problem)
            log(f"    FAILED: {problem}")
        return run

    def curl(self, server, study, key, total, page_size, concurrency, runs, to_disk=False):
        """The transport limit: every page fetched by curl into /dev/null. With to_disk, each
        page goes into a new file instead and the files are made durable (see sync_pages), the
        sync timed with the fetch: what the disk adds for any downloader that stores the data."""
        pages = (total + page_size - 1) // page_size
        results = []
        for _ in range(runs):
            directory = self.pages_directory(study) if to_disk else None
            url_file = os.path.join(self.work, f"urls-{study}-{page_size}.curl")
            with open(url_file, "w") as f:
                for offset in range(0, total, page_size):
                    output = os.path.join(directory, f"{offset}.json") if directory else "/dev/null"
                    f.write(f'url = "{server.url}/v1/studies/{study}/events'
                            f'?offset={offset}&limit={page_size}"\noutput = "{output}"\n')
            command = ["curl", "--silent", "--show-error", "--no-progress-meter", "--noproxy", "*",
                       "--parallel", "--parallel-max", str(concurrency),
                       "-H", f"Authorization: Bearer {key}",
                       "-w", "%{http_code} %{size_download}\\n", "-K", url_file]
            if directory:
                os.sync()  # as before every bdd run: no earlier writeback lands in this one
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=self.env)
            fetched = time.perf_counter() - start
            if directory and done.returncode == 0:
                self.sync_pages(directory)
            wall = time.perf_counter() - start
            answers = [line.split() for line in done.stdout.splitlines() if line.strip()]
            ok = (done.returncode == 0 and len(answers) == pages
                  and all(code == "200" for code, _ in answers))
            if not ok:
                raise RuntimeError(f"curl failed on {study}: exit {done.returncode}, "
                                   f"{len(answers)}/{pages} answers, {done.stderr.strip()}")
            results.append({"wall_s": wall, "bytes": sum(int(size) for _, size in answers),
                            "requests": pages, "events": total})
            if directory:
                results[-1]["sync_s"] = wall - fetched
                self.discard_pages(directory)
        return results

    def copy_tree(self, study_dir):
        """`cp -a` of the leaf tree bdd wrote (its hidden files and .bdd/ left out) into a new
        folder on the same file system, then `sync -f`, timed together: what storing the same
        files costs without bdd. Returns the seconds."""
        entries = sorted(e for e in os.listdir(study_dir) if not e.startswith("."))
        self.workspace_count += 1
        target = os.path.join(self.work, f"tree{self.workspace_count}")
        os.makedirs(target)
        os.sync()
        start = time.perf_counter()
        subprocess.run(["cp", "-a", *[os.path.join(study_dir, e) for e in entries], target],
                       check=True)
        subprocess.run(["sync", "-f", target], check=True)
        wall = time.perf_counter() - start
        self.discard(target)
        return wall

    def pages_directory(self, study):
        """A new, empty directory for curl's pages in the work directory, so on the file system
        of bdd's workspaces; new each run, as bdd's workspaces are, so that no page overwrites
        a cached file."""
        self.workspace_count += 1
        path = os.path.join(self.work, f"pages{self.workspace_count}-{study}")
        os.makedirs(path)
        return path

    def sync_pages(self, directory):
        """Makes the pages durable with one syncfs() of their file system (`sync -f`), as bdd
        does when a commit touches many files. An fsync per page would add a disk cache flush
        per page (about 4 ms each on the development VM, 1,000 pages at 1M events) that a
        downloader writing few files does not pay. The os.sync() just before the fetch keeps
        other writeback out of it."""
        subprocess.run(["sync", "-f", directory], check=True)

    def discard_pages(self, directory):
        """Deletes curl's pages at the end when workspaces are deferred (see MANY_FILES): the
        large size writes MANY_FILES of them per run, and the fresh downloads come next."""
        if self.defer:
            self.trash.append(directory)
        else:
            shutil.rmtree(directory)

    # --- phases ---------------------------------------------------------------------------

    def run(self):
        """Runs every phase; returns the results (for JSON) and the table (Markdown)."""
        options = self.options
        self.sizes = [10_000, 100_000] if options.quick else [200_000, 1_000_000]
        self.small, self.large = self.sizes
        self.reps = options.reps or (1 if options.quick else 3)
        self.study_of = {n: f"bench-{size_label(n).lower()}" for n in self.sizes}
        self.keys = {study: f"key-{study}" for study in self.study_of.values()}
        now = datetime.datetime.now(datetime.timezone.utc)
        result = {"date": now.isoformat(timespec="seconds"),
                  "machine": machine(), "bdd": bdd_version(self.bdd), "quick": options.quick,
                  "reps": self.reps, "page_size": PAGE_SIZE, "concurrency": CONCURRENCY,
                  "sizes": self.sizes}
        log(f"bdd benchmark: {size_label(self.small)} and {size_label(self.large)} events, "
            f"{self.reps} repetition(s); bdd output in {self.log_file.name}")

        studies = [(study, self.keys[study], n) for n, study in self.study_of.items()]
        server = Server(options.server, studies, self.work, self.log_file)
        try:
            transport = self.transport_phase(server)
            fresh, kept = self.fresh_phase(server, transport)
            updates, has_verify = self.updates_phase(server, kept)
        finally:
            server.stop()
        scale = self.scale_phase()
        concurrency = self.concurrency_phase()

        result["transport"] = {size_label(n): t for n, t in transport.items()}
        result["fresh"] = [{"events": n, "format": f, "structure": s, **v}
                           for (n, f, s), v in fresh.items()]
        result["updates"] = [{"format": f, "structure": s, **v} for (f, s), v in updates.items()]
        result["verify_available"] = has_verify
        result["concurrency"] = concurrency
        result["scale"] = scale
        result["notes"] = self.notes
        result["failures"] = self.failures
        rss = max(self.all_runs, key=lambda item: item[1]["rss_kib"])
        result["peak_rss"] = {"mib": rss[1]["rss_kib"] / KIB, "run": rss[0],
                              "runs": len(self.all_runs)}
        result["targets"] = check_targets(fresh, transport, updates, has_verify, concurrency,
                                          scale, result["peak_rss"], self.small, self.large)
        result["elapsed_s"] = time.monotonic() - self.started
        result["machine"]["load_average_during"] = {
            "mean": round(statistics.mean(self.loads), 2), "max": round(max(self.loads), 2)}
        table = render(result, fresh, transport, updates, concurrency, scale, self.small,
                       self.large)
        shutil.rmtree(self.work, ignore_errors=True)
        return result, table

    def transport_phase(self, server):
        """The transport limit at each size: curl with bdd's page size and concurrency, into
        /dev/null, and under "disk" the same into files made durable (see curl)."""
        transport = {}
        for n, study in self.study_of.items():
            runs = self.curl(server, study, self.keys[study], n, PAGE_SIZE, CONCURRENCY,
                             max(TRANSPORT_RUNS, self.reps))
            transport[n] = {**summarise(runs, n), "runs": runs}
            runs = self.curl(server, study, self.keys[study], n, PAGE_SIZE, CONCURRENCY,
                             max(TRANSPORT_RUNS, self.reps), to_disk=True)
            transport[n]["disk"] = {**summarise(runs, n), "runs": runs,
                                    "sync_s": median([r["sync_s"] for r in runs])}
            log(f"  transport {size_label(n)}: {transport[n]['wall_s']:.3f} s, "
                f"{transport[n]['mb_s']:.0f} MB/s; into files + sync "
                f"{transport[n]['disk']['wall_s']:.3f} s (sync "
                f"{transport[n]['disk']['sync_s']:.3f} s), {transport[n]['disk']['mb_s']:.0f} MB/s")
        return transport

    def fresh_phase(self, server, transport):
        """Fresh downloads of every format and structure at each size. Returns the summaries
        and, for the large size, the workspace of each case's last good run (for updates)."""
        fresh, kept = {}, {}
        for n, study in self.study_of.items():
            for fmt in FORMATS:
                for structure in STRUCTURES:
                    label = f"{size_label(n)} {fmt} {structure}"
                    wanted, runs, workspace = self.reps, [], None
                    while len(runs) < wanted:
                        if workspace:
                            self.discard(workspace)
                        workspace = self.workspace(server, study, fmt, STRUCTURES[structure],
                                                   PAGE_SIZE, CONCURRENCY)
                        run = self.download(server, workspace, study, label)
                        run["disk_bytes"] = data_bytes(os.path.join(workspace, "data", study))
                        runs.append(run)
                        log(f"  {label} run {len(runs)}/{wanted}: {run['wall_s']:.2f} s, "
                            f"{run['rss_kib'] / KIB:.0f} MiB{'' if run['ok'] else ', FAILED'}")
                        if len(runs) == 1 and wanted > 1:
                            if run["wall_s"] > SLOW_RUN_S:
                                wanted = 1
                                self.notes.append(f"{label}: 1 run only (the first took "
                                                  f"{run['wall_s']:.0f} s > {SLOW_RUN_S} s)")
                            elif self.over_budget():
                                wanted = 1
                                self.notes.append(f"{label}: 1 run only (the time budget of "
                                                  f"{self.options.budget_min:g} min is used up)")
                    tree_copy = None
                    if fmt in NESTED_FORMATS and structure != "[]" and runs[-1]["ok"]:
                        tree_copy = self.copy_tree(os.path.join(workspace, "data", study))
                        log(f"  {label} cp -a + sync of its leaf tree: {tree_copy:.2f} s")
                    if n == self.large and runs[-1]["ok"]:
                        kept[(fmt, structure)] = workspace
                    else:
                        self.discard(workspace)
                    summary = summarise([r for r in runs if r["ok"]], n)
                    summary["ratio"] = (summary["wall_s"] / transport[n]["wall_s"]
                                        if summary["wall_s"] else None)
                    summary["ratio_disk"] = (summary["wall_s"] / transport[n]["disk"]["wall_s"]
                                             if summary["wall_s"] else None)
                    summary["tree_copy_s"] = tree_copy
                    summary["reference_s"] = (transport[n]["wall_s"] + tree_copy
                                              if tree_copy is not None
                                              else transport[n]["disk"]["wall_s"])
                    summary["ratio_reference"] = (summary["wall_s"] / summary["reference_s"]
                                                  if summary["wall_s"] else None)
                    fresh[(n, fmt, structure)] = {**summary, "runs": runs}
        return fresh, kept

    def updates_phase(self, server, kept):
        """In each kept large workspace: +1% incremental runs, no-op runs, status, verify."""
        study = self.study_of[self.large]
        large = size_label(self.large)
        updates = {case: {"incremental": [], "noop": [], "status": [], "verify": [], "report": []}
                   for case in kept}
        reps = self.reps
        if reps > 1 and self.over_budget():
            reps = 1
            self.notes.append(f"{large} +1% and no-op: 1 run each (the time budget of "
                              f"{self.options.budget_min:g} min is used up)")
        for rep in range(reps):
            server.control("POST", f"/_control/append?study={study}&count={self.large // 100}")
            for (fmt, structure), workspace in kept.items():
                label = f"{large} {fmt} {structure} +1%"
                run = self.download(server, workspace, study, label)
                updates[(fmt, structure)]["incremental"].append(run)
                log(f"  {label} run {rep + 1}/{reps}: {run['wall_s']:.2f} s, "
                    f"{run['requests']} requests")
        for rep in range(reps):
            for (fmt, structure), workspace in kept.items():
                label = f"{large} {fmt} {structure} no-op"
                run = self.download(server, workspace, study, label)
                updates[(fmt, structure)]["noop"].append(run)
                log(f"  {label} run {rep + 1}/{reps}: {run['wall_s']:.3f} s, "
                    f"{run['requests']} requests")
        has_verify = verify_exists(self.bdd, self.env)
        if not has_verify:
            log("  bdd verify: not available (`bdd verify --help` shows no verify command)")
        for (fmt, structure), workspace in kept.items():
            for _ in range(max(STATUS_RUNS, self.reps)):
                updates[(fmt, structure)]["status"].append(
                    self.run_bdd(workspace, "status", study))
            if has_verify:
                run = self.run_bdd(workspace, "verify", study)
                updates[(fmt, structure)]["verify"].append(run)
                log(f"  {large} {fmt} {structure} verify: {run['wall_s']:.2f} s, "
                    f"exit {run['exit']}")
                if run["exit"] != 0:
                    self.failures.append(f"{large} {fmt} {structure} verify: exit {run['exit']}")
            if command_exists(self.bdd, self.env, "report"):
                # `bdd report` reads the same copy once; its target is under 2x verify's time.
                run = self.run_bdd(workspace, "report", study, "--json")
                updates[(fmt, structure)]["report"].append(run)
                log(f"  {large} {fmt} {structure} report: {run['wall_s']:.2f} s, "
                    f"exit {run['exit']}, {run['rss_kib'] / KIB:.0f} MiB")
                if run["exit"] != 0:
                    self.failures.append(f"{large} {fmt} {structure} report: exit {run['exit']}")
            if fmt in DUCKDB_READERS:
                updates[(fmt, structure)]["duckdb"] = self.duckdb_query(
                    workspace, study, fmt, f"{large} {fmt} {structure}")
            if fmt == "jsonl":
                updates[(fmt, structure)]["export"] = {
                    out: self.export(workspace, study, out, f"{large} {fmt} {structure}")
                    for out in EXPORT_FORMATS}
            self.discard(workspace)
        return updates, has_verify

    def duckdb_query(self, workspace, study, fmt, label):
        """DUCKDB_QUERY over the study folder in `workspace`, timed (node's start included), and
        DuckDB's count of the events checked against the events stored. None if DuckDB is not
        installed (bash scripts/install-deps.sh installs it)."""
        script = os.path.join(LOADERS, "duckdb_count.js")
        modules = os.path.join(LOADERS, "node_modules")
        if not shutil.which("node") or not os.path.isdir(os.path.join(modules, "@duckdb")):
            self.notes.append("DuckDB query: not run (no node or no tests/loaders/node_modules)")
            return None
        reader = DUCKDB_READERS[fmt].format(dir=os.path.join("data", study))
        env = {**self.env, "NODE_PATH": modules}

        def timed(query):
            start = time.perf_counter()
            done = subprocess.run(["node", script, query], cwd=workspace, env=env,
                                  capture_output=True, text=True)
            return time.perf_counter() - start, done

        wall, done = timed(DUCKDB_QUERY.format(reader=reader))
        _, counted = timed(DUCKDB_COUNT.format(reader=reader))
        stored = None
        with open(os.path.join(workspace, "data", study, ".metadata.json")) as f:
            stored = json.load(f).get("events_stored")
        run = {"wall_s": wall, "ok": done.returncode == 0 and counted.returncode == 0
               and counted.stdout.strip() == str(stored)}
        log(f"  {label} DuckDB query: {wall:.2f} s{'' if run['ok'] else ', FAILED'}")
        if not run["ok"]:
            self.failures.append(f"{label} DuckDB query: {done.stderr.strip()[:200]} "
                                 f"{counted.stdout.strip()} counted, {stored} stored")
        return run

    def export(self, workspace, study, out, label):
        """One `bdd export --json` of the copy in `workspace` to `out`; its rows checked against
        the events stored. The output is deleted afterwards."""
        path = os.path.join(workspace, f"export.{out}")
        flat = out == "flat-csv"
        os.sync()
        run = self.run_bdd(workspace, "export", study, "--format", "csv" if flat else out,
                           "--output", path, "--force", "--json", *(["--flatten"] if flat else []))
        rows = stored = None
        try:
            with open(os.path.join(workspace, "data", study, ".metadata.json")) as f:
                stored = json.load(f).get("events_stored")
            if flat:
                # Flattened strings are plain text: a quoted field may hold a line break.
                csv.field_size_limit(1 << 30)
                with open(path, newline="", encoding="utf-8") as f:
                    rows = sum(1 for _ in csv.reader(f)) - 1
            else:
                # One event per line: JSON text escapes line breaks, in csv's data column too.
                with open(path, "rb") as f:
                    rows = sum(1 for _ in f) - (1 if out == "csv" else 0)
        except (OSError, ValueError):
            pass
        run["stored"] = stored
        run["ok"] = run["exit"] == 0 and rows == stored
        run["events_s"] = stored / run["wall_s"] if run["ok"] and stored else None
        log(f"  {label} export {out}: {run['wall_s']:.2f} s, {fmt_num(run['events_s'], 0)} "
            f"events/s, {run['rss_kib'] / KIB:.0f} MiB{'' if run['ok'] else ', FAILED'}")
        if not run["ok"]:
            self.failures.append(f"{label} export {out}: exit {run['exit']}, {rows} rows, "
                                 f"{stored} stored")
        if os.path.exists(path):
            os.remove(path)
        return run

    def scale_phase(self):
        """One fresh jsonl [] download of a much larger study, on a server of its own (it holds
        every event in memory), and its verify."""
        n = SCALE_EVENTS[self.options.quick]
        study = f"bench-{size_label(n).lower()}"
        self.keys[study] = f"key-{study}"
        server = Server(self.options.server, [(study, self.keys[study], n)], self.work,
                        self.log_file)
        out = {"events": n, "format": "jsonl", "structure": "[]"}
        try:
            workspace = self.workspace(server, study, "jsonl", [], PAGE_SIZE, CONCURRENCY)
            run = self.download(server, workspace, study, f"{size_label(n)} jsonl []")
            out["download"] = run
            out["events_s"] = n / run["wall_s"] if run["ok"] else None
            log(f"  {size_label(n)} jsonl []: {run['wall_s']:.2f} s, "
                f"{fmt_num(out['events_s'], 0)} events/s, {run['rss_kib'] / KIB:.0f} MiB")
            if run["ok"]:
                verify = self.run_bdd(workspace, "verify", study)
                out["verify"] = verify
                log(f"  {size_label(n)} jsonl [] verify: {verify['wall_s']:.2f} s, "
                    f"exit {verify['exit']}, {verify['rss_kib'] / KIB:.0f} MiB")
                if verify["exit"] != 0:
                    self.failures.append(f"{size_label(n)} verify: exit {verify['exit']}")
            self.discard(workspace)
        finally:
            server.stop()
        return out

    def concurrency_phase(self):
        """1 and 4 requests in flight, curl and bdd, on a server that delays every request."""
        study = "bench-latency"
        self.keys[study] = f"key-{study}"
        server = Server(self.options.server, [(study, self.keys[study], LATENCY_EVENTS)],
                        self.work, self.log_file, ["--latency-ms", str(LATENCY_MS)])
        out = {"latency_ms": LATENCY_MS, "events": LATENCY_EVENTS, "page_size": LATENCY_PAGE_SIZE,
               "format": "jsonl", "structure": "[]"}
        try:
            for in_flight in (1, 4):
                curl_runs = self.curl(server, study, self.keys[study], LATENCY_EVENTS,
                                      LATENCY_PAGE_SIZE, in_flight, self.reps)
                bdd_runs = []
                for _ in range(self.reps):
                    workspace = self.workspace(server, study, "jsonl", [], LATENCY_PAGE_SIZE,
                                               in_flight)
                    bdd_runs.append(self.download(server, workspace, study,
                                                  f"latency, {in_flight} in flight"))
                    self.discard(workspace)
                out[f"curl_{in_flight}"] = median([r["wall_s"] for r in curl_runs])
                out[f"bdd_{in_flight}"] = median([r["wall_s"] for r in bdd_runs if r["ok"]])
                out[f"runs_{in_flight}"] = {"curl": curl_runs, "bdd": bdd_runs}
                log(f"  latency {LATENCY_MS} ms, {in_flight} in flight: curl "
                    f"{fmt_num(out[f'curl_{in_flight}'], 2)} s, "
                    f"bdd {fmt_num(out[f'bdd_{in_flight}'], 2)} s")
        finally:
            server.stop()
        for client in ("curl", "bdd"):
            one, four = out[f"{client}_1"], out[f"{client}_4"]
            out[f"{client}_speedup"] = one / four if one and four else None
        return out


# --- helpers ------------------------------------------------------------------------------


def median(values):
    return statistics.median(values) if values else None


def summarise(runs, events):
    wall = median([r["wall_s"] for r in runs])
    summary = {"n": len(runs), "wall_s": wall, "events_s": None, "mb_s": None,
               "cpu_s": None, "rss_mib": None, "disk_mb": None}
    if wall:
        summary["events_s"] = events / wall
        summary["mb_s"] = median([r["bytes"] for r in runs]) / wall / 1e6
    if runs and "rss_kib" in runs[0]:
        summary["cpu_s"] = median([r["cpu_s"] for r in runs])
        summary["rss_mib"] = max(r["rss_kib"] for r in runs) / KIB
    if runs and "disk_bytes" in runs[0]:
        summary["disk_mb"] = median([r["disk_bytes"] for r in runs]) / 1e6
    return summary


def data_bytes(path):
    """Bytes of the study's data files (bdd's own dot files and .bdd/ left out)."""
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files if not f.startswith("."))
    return total


def command_exists(bdd, env, command):
    """True if `bdd <command> --help` shows that command."""
    done = subprocess.run([bdd, command, "--help"], capture_output=True, text=True, env=env)
    return done.returncode == 0 and f"Usage: bdd {command}" in done.stdout


def verify_exists(bdd, env):
    # `bdd <unknown> --help` prints the general help and exits 0, so the exit code alone does
    # not tell: the command's own help names it in its usage line.
    done = subprocess.run([bdd, "verify", "--help"], capture_output=True, text=True, env=env)
    return done.returncode == 0 and "Usage: bdd verify" in done.stdout


def bdd_version(bdd):
    version = subprocess.run([bdd, "--version"], capture_output=True, text=True).stdout.strip()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "src", "include"],
                           capture_output=True, text=True).stdout.strip()
    return {"version": version, "commit": commit, "uncommitted_src_changes": bool(dirty)}


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            ram_kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        ram_kib = 0
    return {"cpu": model, "nproc": os.cpu_count(), "ram_gib": round(ram_kib / MIB, 1),
            "kernel": platform.release(), "load_average": round(os.getloadavg()[0], 2)}


def check_targets(fresh, transport, updates, has_verify, concurrency, scale, peak_rss, small,
                  large):
    """Every target as {target, limit, measured, result}; `measured` is the worst case, and
    result is PASS, FAIL, or None when there is nothing to check."""
    targets = []

    def check(name, limit, items, show, worst=max):
        """items: (case, value or None when not measured, passed). The worst case is the
        first unmeasured one, else the worst failing value, else the worst value."""
        missing = [case for case, value, _ in items if value is None]
        failing = [i for i in items if i[1] is not None and not i[2]]
        if missing or not items:
            measured, passed = f"not measured ({', '.join(missing) or 'no run'})", False
        else:
            case, value, _ = worst(failing or items, key=lambda i: i[1])
            measured, passed = f"{show(value)} ({case})", not failing
        targets.append({"target": name, "limit": limit, "measured": measured,
                        "result": "PASS" if passed else "FAIL"})

    def ratio_item(n, f, s, limit):
        ratio = fresh[(n, f, s)]["ratio_reference"]
        return (f"{size_label(n)} {f} {s}", ratio, ratio is not None and ratio <= limit)

    label = size_label(large)
    check("flat jsonl [] vs curl → files + sync", f"≤ {FLAT_LIMIT}×",
          [ratio_item(n, "jsonl", "[]", FLAT_LIMIT) for n in (small, large)],
          lambda v: f"{v:.2f}×")
    check("nested vs curl + `cp -a` of the same tree + sync", f"≤ {NESTED_LIMIT}×",
          [ratio_item(n, f, "default", NESTED_LIMIT) for n in (small, large)
           for f in NESTED_FORMATS], lambda v: f"{v:.2f}×")
    items = []
    for in_flight in (1, 4):
        b, c = concurrency.get(f"bdd_{in_flight}"), concurrency.get(f"curl_{in_flight}")
        ratio = b / c if b and c else None
        items.append((f"{in_flight} in flight", ratio, ratio is not None and ratio <= LATENCY_LIMIT))
    check(f"{LATENCY_MS} ms latency per page vs curl, same concurrency", f"≤ {LATENCY_LIMIT}×",
          items, lambda v: f"{v:.2f}×")
    base = fresh[(large, "jsonl", "[]")]["events_s"]
    share = scale["events_s"] / base if scale.get("events_s") and base else None
    check(f"{size_label(scale['events'])} events/s vs {label} (jsonl [])", f"≥ {SCALE_LIMIT:.0%}",
          [("jsonl []", share, share is not None and share >= SCALE_LIMIT)],
          lambda v: f"{v:.0%}", worst=min)
    items = []
    for (f, s), u in updates.items():
        wall = median([r["wall_s"] for r in u["verify"] if r["exit"] == 0])
        fresh_wall = fresh[(large, f, s)]["wall_s"]
        ratio = wall / fresh_wall if wall and fresh_wall else None
        items.append((f"{label} {f} {s}", ratio, ratio is not None and ratio <= VERIFY_LIMIT))
    if scale.get("verify") and scale["verify"]["exit"] == 0 and scale["download"]["ok"]:
        ratio = scale["verify"]["wall_s"] / scale["download"]["wall_s"]
        items.append((f"{size_label(scale['events'])} jsonl []", ratio, ratio <= VERIFY_LIMIT))
    else:
        items.append((f"{size_label(scale['events'])} jsonl []", None, False))
    check("verify vs the download of the same study", f"≤ {VERIFY_LIMIT}×", items,
          lambda v: f"{v:.2f}×")
    check(f"peak RSS, all {peak_rss['runs']} bdd runs", f"< {RSS_LIMIT_MIB} MiB",
          [(peak_rss["run"], peak_rss["mib"], peak_rss["mib"] < RSS_LIMIT_MIB)],
          lambda v: f"{v:.0f} MiB")

    cases = [(f, s) for f in FORMATS for s in STRUCTURES]
    incremental, noop, noop_requests, status = [], [], [], []
    for (f, s), u in updates.items():
        case = f"{f} {s}"
        fresh_wall = fresh[(large, f, s)]["wall_s"]
        wall = median([r["wall_s"] for r in u["incremental"] if r["ok"]])
        share = wall / fresh_wall if wall and fresh_wall else None
        incremental.append((case, share, share is not None and share < INCREMENTAL_LIMIT))
        wall = median([r["wall_s"] for r in u["noop"] if r["ok"]])
        noop.append((case, wall, wall is not None and wall < NOOP_LIMIT_S))
        requests = max((r["requests"] for r in u["noop"]), default=None)
        noop_requests.append((case, requests, requests is not None
                              and NOOP_REQUESTS[0] <= requests <= NOOP_REQUESTS[1]))
        wall = median([r["wall_s"] for r in u["status"] if r["exit"] == 0])
        status.append((case, wall, wall is not None and wall < STATUS_LIMIT_S))
    if len(updates) < len(cases):
        missing = [(f"{f} {s}", None, False) for f, s in cases if (f, s) not in updates]
        for items in (incremental, noop, noop_requests, status):
            items += missing
    check(f"{label} incremental +1% vs fresh download", f"< {INCREMENTAL_LIMIT:.0%}",
          incremental, lambda v: f"{v:.1%}")
    check(f"{label} no-op run wall time", f"< {NOOP_LIMIT_S} s", noop, lambda v: f"{v:.3f} s")
    check(f"{label} no-op run requests", f"{NOOP_REQUESTS[0]}-{NOOP_REQUESTS[1]}",
          noop_requests, str)
    # Every request re-reads the event before its offset (the seam that shows a list that
    # changed during the run): with no change that must cost at most one request per run.
    pages = -(-large // PAGE_SIZE)
    items = []
    for f, s in cases:
        requests = max((r["requests"] for r in fresh[(large, f, s)]["runs"]), default=None)
        items.append((f"{f} {s}", None if requests is None else requests - pages,
                      requests is not None and requests <= pages + 1))
    check(f"{label} fresh download requests beyond its {pages} pages", "≤ 1", items, str)
    pages = -(-(large // 100) // PAGE_SIZE)
    items = []
    for (f, s), u in updates.items():
        requests = max((r["requests"] for r in u["incremental"]), default=None)
        items.append((f"{f} {s}", None if requests is None else requests - pages,
                      requests is not None and requests <= pages + 1))
    check(f"{label} +1% run requests beyond its {pages} pages", "≤ 1", items, str)
    check(f"{label} bdd status", f"< {STATUS_LIMIT_S * 1000:.0f} ms", status,
          lambda v: f"{v * 1000:.0f} ms")
    run = updates.get(("jsonl", "[]"), {}).get("export", {}).get("jsonl")
    check(f"{label} export jsonl [] to jsonl", f"≥ {EXPORT_EVENTS_S:,} events/s",
          [("jsonl [] → jsonl", run and run["events_s"],
            bool(run and run["events_s"] and run["events_s"] >= EXPORT_EVENTS_S))],
          lambda v: f"{v:,.0f} events/s", worst=min)
    items = [(f"{f} {s} → {out}", r["rss_kib"] / KIB, r["rss_kib"] / KIB < RSS_LIMIT_MIB)
             for (f, s), u in updates.items() for out, r in u.get("export", {}).items()]
    check(f"{label} export peak RSS", f"< {RSS_LIMIT_MIB} MiB", items, lambda v: f"{v:.0f} MiB")
    return targets


def fmt_num(value, digits=1, scale=1.0):
    return "–" if value is None else f"{value * scale:,.{digits}f}"


def render(result, fresh, transport, updates, concurrency, scale, small, large):
    """The results as Markdown: the header, four tables, the targets and the notes."""
    m, b, c = result["machine"], result["bdd"], concurrency
    during = m["load_average_during"]
    changes = ", with uncommitted changes in src/" if b["uncommitted_src_changes"] else ""
    bytes_per_event = transport[large]["runs"][0]["bytes"] / large
    lines = [
        f"bdd benchmark, {result['date']}{' (--quick)' if result['quick'] else ''}",
        "",
        f"Machine: {m['cpu']}, {m['nproc']} CPUs, {m['ram_gib']} GiB RAM, Linux {m['kernel']}. "
        f"1-minute load average: {m['load_average']} at the start, {during['mean']} on average "
        f"and {during['max']} at most during the runs (the benchmark itself accounts for 1 "
        f"to 2).",
        "",
        f"{b['version']} (git {b['commit']}{changes}), Release build, against `bdd-demo-server` "
        f"on 127.0.0.1 with no added latency: pages of {PAGE_SIZE}, {CONCURRENCY} requests in "
        f"flight, generated events of both shapes ({bytes_per_event:.0f} API bytes each). Medians "
        f"of {result['reps']} runs unless `runs` says otherwise; MB/s are API bytes (10^6) per "
        f"second of wall time; CPU is user + system time; peak RSS is the largest of the runs.",
        "",
        f"Transport: `curl --parallel --parallel-max {CONCURRENCY}` (keep-alive) fetching "
        f"the same pages into /dev/null, median of {transport[large]['n']} runs. Into files: "
        f"the same command writing each page into a new file on the file system of bdd's "
        f"workspaces, then one `sync -f` (syncfs, as bdd's commits of many files), timed "
        f"together, median of {transport[large]['disk']['n']} runs: the reference of the flat "
        f"layouts. The reference of a nested layout is the transport into /dev/null plus a "
        f"`cp -a` of the leaf tree that case's last run wrote into a new folder, then "
        f"`sync -f`, timed together (`tree copy s`).",
        "",
        "| events | wall s | events/s | MB/s | curl → files + sync wall s | of which sync s "
        "| MB/s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in (small, large):
        t, d = transport[n], transport[n]["disk"]
        lines.append(f"| {size_label(n)} | {t['wall_s']:.3f} | {fmt_num(t['events_s'], 0)} | "
                     f"{fmt_num(t['mb_s'], 0)} | {d['wall_s']:.3f} | {d['sync_s']:.3f} | "
                     f"{fmt_num(d['mb_s'], 0)} |")

    lines += [
        "",
        "Fresh `bdd download` (structure `default` is `[\"by_user_id\", \"by_date\"]`):",
        "",
        "| events | format | structure | runs | wall s | CPU s | events/s | MB/s | peak RSS MiB "
        "| data MB | tree copy s | reference s | × reference | target |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (n, f, s), v in fresh.items():
        limit = (FLAT_LIMIT if (f, s) == ("jsonl", "[]")
                 else NESTED_LIMIT if f in NESTED_FORMATS and s != "[]" else None)
        verdict = ""
        if limit is not None:
            passed = v["ratio_reference"] is not None and v["ratio_reference"] <= limit
            verdict = f"≤ {limit}× {'PASS' if passed else 'FAIL'}"
        failed = len(v["runs"]) - v["n"]
        runs = f"{v['n']}" + (f" (+{failed} failed)" if failed else "")
        lines.append(f"| {size_label(n)} | {f} | {s} | {runs} | {fmt_num(v['wall_s'], 2)} | "
                     f"{fmt_num(v['cpu_s'], 2)} | {fmt_num(v['events_s'], 0)} | "
                     f"{fmt_num(v['mb_s'], 0)} | {fmt_num(v['rss_mib'], 0)} | "
                     f"{fmt_num(v['disk_mb'], 0)} | {fmt_num(v['tree_copy_s'], 2)} | "
                     f"{fmt_num(v['reference_s'], 2)} | {fmt_num(v['ratio_reference'], 2)} | "
                     f"{verdict} |")

    lines += [
        "",
        f"Updates of the {size_label(large)} study, each in the workspace of its last fresh run: "
        f"`+1%` appends {large // 100:,} events on the server, then downloads (each run listed); "
        f"`no-op` finds nothing new; `status` is the median of "
        f"{max(STATUS_RUNS, result['reps'])} runs; `DuckDB query` counts the events per "
        f"event type over the study folder with DuckDB's reader of the format (node's start "
        f"included; sqlite needs a downloaded extension, so it is not run).",
        "",
        "| format | structure | +1% s | +1% runs s | % of fresh | no-op s | no-op requests "
        "| status ms | verify s | verify × fresh | verify MiB | report s | report × verify "
        "| report MiB | DuckDB query s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (f, s), u in updates.items():
        incremental = median([r["wall_s"] for r in u["incremental"] if r["ok"]])
        each = ", ".join(f"{r['wall_s']:.2f}" for r in u["incremental"])
        fresh_wall = fresh[(large, f, s)]["wall_s"]
        share = incremental / fresh_wall if incremental and fresh_wall else None
        noop = median([r["wall_s"] for r in u["noop"] if r["ok"]])
        requests = "/".join(str(r["requests"]) for r in u["noop"])
        status = median([r["wall_s"] for r in u["status"] if r["exit"] == 0])
        verify_s = median([r["wall_s"] for r in u["verify"]])
        verify = fmt_num(verify_s, 2) if result["verify_available"] else "n/a"
        verify_share = verify_s / fresh_wall if verify_s and fresh_wall else None
        verify_rss = max((r["rss_kib"] / KIB for r in u["verify"]), default=None)
        report_s = median([r["wall_s"] for r in u.get("report", []) if r["exit"] == 0])
        report_share = report_s / verify_s if report_s and verify_s else None
        report_rss = max((r["rss_kib"] / KIB for r in u.get("report", [])), default=None)
        query = u.get("duckdb")
        query_s = (fmt_num(query["wall_s"], 2) if query and query["ok"]
                   else "failed" if query else "n/a")
        lines.append(f"| {f} | {s} | {fmt_num(incremental, 2)} | {each} | "
                     f"{fmt_num(share, 1, 100)} | {fmt_num(noop, 3)} | {requests} | "
                     f"{fmt_num(status, 0, 1000)} | {verify} | {fmt_num(verify_share, 2)} | "
                     f"{fmt_num(verify_rss, 0)} | {fmt_num(report_s, 2)} | "
                     f"{fmt_num(report_share, 2)} | {fmt_num(report_rss, 0)} | {query_s} |")

    lines += [
        "",
        f"Export: `bdd export` of the {size_label(large)} jsonl copies above (after the +1% "
        f"runs) to one file.",
        "",
        "| copy | to | wall s | CPU s | events/s | peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (f, s), u in updates.items():
        for out, r in u.get("export", {}).items():
            lines.append(f"| {f} {s} | {out} | {fmt_num(r['wall_s'], 2)} | "
                         f"{fmt_num(r['cpu_s'], 2)} | {fmt_num(r['events_s'], 0)} | "
                         f"{fmt_num(r['rss_kib'] / KIB, 0)} |")

    base = fresh[(large, "jsonl", "[]")]
    download, verify = scale.get("download"), scale.get("verify")
    lines += [
        "",
        f"Scale: a server of its own holds a {size_label(scale['events'])}-event study; one fresh "
        f"jsonl `[]` download and its verify, against the median {size_label(large)} jsonl `[]` "
        f"run above.",
        "",
        "| events | wall s | CPU s | events/s | of the " + size_label(large) + "'s | peak RSS MiB "
        "| verify s | verify × download | verify MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {size_label(scale['events'])} | {fmt_num(download and download['wall_s'], 2)} | "
        f"{fmt_num(download and download['cpu_s'], 2)} | {fmt_num(scale.get('events_s'), 0)} | "
        f"{fmt_num(scale.get('events_s') and base['events_s'] and scale['events_s'] / base['events_s'], 0, 100)}% | "
        f"{fmt_num(download and download['rss_kib'] / KIB, 0)} | "
        f"{fmt_num(verify and verify['wall_s'], 2)} | "
        f"{fmt_num(verify and download and verify['wall_s'] / download['wall_s'], 2)} | "
        f"{fmt_num(verify and verify['rss_kib'] / KIB, 0)} |",
    ]

    per_request_ms = c["curl_1"] / (c["events"] / c["page_size"]) * 1000
    lines += [
        "",
        f"Latency: a second server adds {c['latency_ms']} ms to every request; "
        f"{c['events']:,} events in pages of {c['page_size']}, jsonl `[]`. With 1 in flight curl "
        f"saw {per_request_ms:.0f} ms per request.",
        "",
        "| client | 1 in flight s | 4 in flight s | speedup |",
        "|---|---:|---:|---:|",
    ]
    for client in ("curl", "bdd"):
        lines.append(f"| {client} | {fmt_num(c[f'{client}_1'], 2)} | "
                     f"{fmt_num(c[f'{client}_4'], 2)} | {fmt_num(c[f'{client}_speedup'], 2)}× |")
    one = c["bdd_1"] / c["curl_1"] if c["bdd_1"] and c["curl_1"] else None
    four = c["bdd_4"] / c["curl_4"] if c["bdd_4"] and c["curl_4"] else None
    lines.append(f"| bdd × curl | {fmt_num(one, 2)}× | {fmt_num(four, 2)}× | |")

    lines += ["", "Targets:", "", "| target | limit | measured (worst case) | result |",
              "|---|---|---|---|"]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {t['limit']} | {t['measured']} | {t['result'] or 'n/a'} |")
    if result["notes"] or result["failures"]:
        lines.append("")
    lines += [f"- note: {note}" for note in result["notes"]]
    lines += [f"- FAILED RUN (left out of the medians): {f}" for f in result["failures"]]
    lines += ["", f"Whole benchmark: {result['elapsed_s'] / 60:.1f} min."]
    # Prose wrapped at 100 columns like the rest of README.md; table rows stay whole.
    lines = [line if line.startswith("|") else textwrap.fill(line, 100, break_long_words=False,
                                                              break_on_hyphens=False)
             for line in lines]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bdd", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--quick", action="store_true", help="10k/100k events, 1 repetition")
    parser.add_argument("--reps", type=int, default=0, help="repetitions per case")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--budget-min", type=float, default=15,
                        help="after this many minutes, remaining cases run once")
    options = parser.parse_args()
    if options.reps < 0:
        parser.error("--reps must be positive")
    os.makedirs(options.out, exist_ok=True)
    # SIGTERM unwinds like Ctrl-C, so that the servers started here are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    result, table = Bench(options).run()
    print()
    print(table, end="")
    with open(os.path.join(options.out, "latest.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(options.out, "latest.md"), "w") as f:
        f.write(table)
    print(f"\nsaved {options.out}/latest.json and {options.out}/latest.md")
    missed = [t for t in result["targets"] if t["result"] == "FAIL"]
    if result["failures"]:
        return 1
    if options.strict and missed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
