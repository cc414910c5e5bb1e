// bdd._native: the public C++ API (include/bdd/bdd.hpp) for Python, as plain dicts, lists and
// strings. The Python package (python/bdd/__init__.py) turns the "error" entries into exceptions
// and the dicts into objects; this file only moves values across and manages the GIL.
#include <bdd/bdd.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace py = pybind11;

namespace {

// `call()` with the GIL released, so that other Python threads run during bdd's disk and network
// work.
template <typename Call>
auto without_gil(const Call& call) {
  const py::gil_scoped_release release;
  return call();
}

py::object error_of(const bdd::Outcome& outcome) {
  if (outcome.ok) {
    return py::none();
  }
  py::dict error;
  error["kind"] = outcome.error_kind;
  error["message"] = outcome.message;
  return error;
}

py::object optional_count(const std::optional<std::uint64_t>& value) {
  return value ? py::object(py::int_(*value)) : py::object(py::none());
}

py::dict progress_dict(const bdd::Progress& progress) {
  py::dict out;
  out["events_received"] = progress.events_received;
  out["events_added"] = progress.events_added;
  out["offset"] = progress.offset;
  out["remote_total"] = optional_count(progress.remote_total);
  return out;
}

// What the download's thread hands the caller's thread: progress reports in order, then the end.
struct DownloadChannel {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<bdd::Progress> reports;
  bool finished = false;
  bdd::DownloadSummary summary;
};

// The caller's thread waits with the GIL released, waking every 100 ms (or at each report) to
// run the progress callback and Python's signal handlers itself: so the callback runs on the
// caller's thread, and Ctrl-C (KeyboardInterrupt from the handler) stops the download after its
// current commit and is raised once the download has returned.
py::dict download(const bdd::Downloader& downloader,
                  const std::string& study,
                  bool fresh,
                  const py::object& progress) {
  DownloadChannel channel;
  std::atomic<bool> stop{false};
  bdd::DownloadRequest request;
  request.fresh = fresh;
  request.stop = &stop;
  request.on_progress = [&channel](const bdd::Progress& report) {
    const std::lock_guard lock(channel.mutex);
    channel.reports.push_back(report);
    channel.changed.notify_all();
  };
  std::thread worker([&] {
    bdd::DownloadSummary summary;
    try {
      summary = downloader.download(study, request);
    } catch (const std::exception& error) {
      summary.outcome = {false, "internal", error.what()};
    }
    const std::lock_guard lock(channel.mutex);
    channel.summary = std::move(summary);
    channel.finished = true;
    channel.changed.notify_all();
  });
  std::optional<py::error_already_set> raised;
  for (bool finished = false; !finished;) {
    std::deque<bdd::Progress> reports;
    {
      const py::gil_scoped_release release;
      std::unique_lock lock(channel.mutex);
      channel.changed.wait_for(lock, std::chrono::milliseconds(100), [&channel] {
        return channel.finished || !channel.reports.empty();
      });
      reports.swap(channel.reports);
      finished = channel.finished;
    }
    try {
      for (const auto& report : reports) {
        if (!raised && !progress.is_none()) {
          progress(progress_dict(report));
        }
      }
      if (!raised && PyErr_CheckSignals() != 0) {
        throw py::error_already_set();
      }
    } catch (const py::error_already_set& error) {
      raised = error; // shares the Python exception (pybind11 holds it by reference count)
      stop = true;
    }
  }
  without_gil([&worker] { worker.join(); });
  if (raised) {
    throw std::move(*raised);
  }
  const bdd::DownloadSummary& summary = channel.summary;
  py::dict out;
  out["error"] = error_of(summary.outcome);
  out["events_received"] = summary.events_received;
  out["events_added"] = summary.events_added;
  out["duplicates_skipped"] = summary.duplicates_skipped;
  out["events_stored"] = summary.events_stored;
  out["study_dir"] = summary.study_dir.string();
  return out;
}

py::dict status(const bdd::Downloader& downloader, const std::string& study) {
  const auto local = without_gil([&] { return downloader.status(study); });
  py::dict out;
  out["error"] = error_of(local.outcome);
  out["downloaded"] = local.downloaded;
  out["events_stored"] = local.events_stored;
  out["remote_total"] = optional_count(local.remote_total);
  out["last_update"] = local.last_update;
  out["study_dir"] = local.study_dir.string();
  out["format"] = local.format;
  out["folder_structure"] = local.folder_structure;
  out["newest_stored_timestamp"] = local.newest_stored_timestamp;
  return out;
}

py::dict history(const bdd::Downloader& downloader, const std::string& study) {
  const auto runs = without_gil([&] { return downloader.history(study); });
  py::dict out;
  out["error"] = error_of(runs.outcome);
  out["runs"] = runs.runs;
  return out;
}

py::dict verify(const bdd::Downloader& downloader, const std::string& study, bool remote) {
  const auto result = without_gil([&] { return downloader.verify(study, remote); });
  py::list findings;
  for (const auto& finding : result.findings) {
    py::dict item;
    item["kind"] = finding.kind;
    item["file"] = finding.file;
    item["line"] = finding.line;
    item["id"] = finding.id;
    item["message"] = finding.message;
    item["error"] = finding.error;
    findings.append(std::move(item));
  }
  py::dict out;
  out["error"] = error_of(result.outcome);
  out["ok"] = result.ok;
  out["events"] = result.events;
  out["files"] = result.files;
  out["findings"] = std::move(findings);
  out["study_dir"] = result.study_dir.string();
  return out;
}

// A batch of events per call, so that the GIL is released once per batch, not per event.
py::list next_batch(bdd::EventReader& reader, std::size_t size) {
  std::vector<std::string> batch;
  batch.reserve(size);
  {
    const py::gil_scoped_release release;
    while (batch.size() < size) {
      auto event = reader.next();
      if (!event) {
        break;
      }
      batch.push_back(std::move(*event));
    }
  }
  py::list out;
  for (const auto& event : batch) {
    // The server's strings may hold any Unicode; bdd replaced invalid UTF-8 when it stored them.
    out.append(py::str(event));
  }
  return out;
}

bdd::EventReader events(const bdd::Downloader& downloader,
                        const std::string& study,
                        const std::optional<std::string>& since,
                        const std::optional<std::string>& until,
                        bool stored_time,
                        const std::vector<std::string>& users,
                        const std::vector<std::string>& event_types) {
  const bdd::EventQuery query{since, until, stored_time, users, event_types};
  return without_gil([&] { return downloader.events(study, query); });
}

} // namespace

PYBIND11_MODULE(_native, module) {
  module.doc() = "bdd's C++ engine; use the `bdd` package, which wraps it.";
  py::class_<bdd::EventReader>(module, "EventReader")
      .def("next_batch",
           &next_batch,
           py::arg("size") = 1000,
           "Up to `size` events as JSON texts; [] at the end or on failure (see `error`).")
      .def_property_readonly(
          "error",
          [](const bdd::EventReader& reader) { return error_of(reader.outcome()); },
          "None, or {'kind', 'message'} when the reading failed.");
  py::class_<bdd::Downloader>(module, "Downloader")
      .def(py::init([](const std::string& work_dir) { return bdd::Downloader(work_dir); }),
           py::arg("work_dir"),
           "The studies configured under `work_dir`, as `bdd -C work_dir` sees them.")
      .def("download",
           &download,
           py::arg("study"),
           py::arg("fresh") = false,
           py::arg("progress") = py::none())
      .def("status", &status, py::arg("study"))
      .def("history", &history, py::arg("study"))
      .def("verify", &verify, py::arg("study"), py::arg("remote") = false)
      .def("events",
           &events,
           py::arg("study"),
           py::arg("since") = py::none(),
           py::arg("until") = py::none(),
           py::arg("stored_time") = false,
           py::arg("users") = std::vector<std::string>{},
           py::arg("event_types") = std::vector<std::string>{});
}
