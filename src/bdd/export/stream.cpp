#include "stream.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/storage/record_decoder.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace bdd::exporting {

namespace {

namespace stdfs = std::filesystem;

// An event with its place in export order, computed once.
struct Item {
  model::Event event;
  SortKey key;
  std::string partition; // StreamOptions::partition's key; empty without
};

bool item_before(const Item& a, const Item& b) {
  if (a.partition != b.partition) {
    return a.partition < b.partition;
  }
  return export_before(a.key, a.event, b.key, b.event);
}

// What an item costs in memory, about: its strings and itself.
std::size_t footprint(const Item& item) {
  const auto optional = [](const std::optional<std::string>& text) {
    return text ? text->size() : 0;
  };
  const model::Event& e = item.event;
  return sizeof(Item) + item.partition.size() + e.id.size() + e.user_id.size() + e.event_type.size()
         + optional(e.element_id) + optional(e.timestamp) + optional(e.stored_timestamp)
         + optional(e.page_url) + e.raw.size();
}

Result<void> check_stop(const std::atomic<bool>* stop) {
  if (stop && stop->load(std::memory_order_relaxed)) {
    return Error(Errc::interrupted, "export interrupted; no output was written");
  }
  return ok();
}

class ItemSource {
public:
  virtual ~ItemSource() = default;
  // The next item into `out`; false after the last.
  virtual Result<bool> next(Item& out) = 0;
};

// Events read and inputs finished in one attempt at a pass, for the statistics and progress.
struct Tally {
  std::uint64_t read = 0;
  std::uint64_t done = 0;
};

// The events of one input that the filter keeps, in stored order.
class InputSource final : public ItemSource {
public:
  InputSource(const StreamOptions& options, const Input& input, Tally& tally)
      : m_options(options),
        m_input(input),
        m_tally(tally) {}

  Result<bool> next(Item& out) override {
    if (m_done) {
      return false;
    }
    if (!m_source) {
      auto opened = storage::open_event_source(m_options.format, path(), m_input.selection);
      if (!opened) {
        return Error(opened.error().code, opened.error().message + hint());
      }
      m_source = std::move(*opened);
    }
    for (;;) {
      auto any = m_source->next(out.event);
      if (!any) {
        const std::uint64_t line = m_source->error_line();
        return Error(
            Errc::storage,
            "cannot read \"" + path().string() + "\""
                + (line ? " at " + std::string(database() ? "row " : "line ") + std::to_string(line)
                        : std::string())
                + ": " + any.error().message + hint());
      }
      if (!*any) {
        m_source.reset(); // closes the file: a merge keeps only unfinished inputs open
        m_done = true;
        ++m_tally.done;
        report();
        return false;
      }
      if ((++m_tally.read & 4095) == 0) {
        report();
      }
      if (m_options.filter.matches(out.event)) {
        out.key = sort_key(out.event);
        if (m_options.partition) {
          out.partition = m_options.partition(out.event);
        }
        return true;
      }
    }
  }

private:
  void report() const {
    if (m_options.progress) {
      m_options.progress(m_tally.read, m_tally.done, m_options.inputs.size());
    }
  }
  bool database() const { return format_info(m_options.format).storage == FormatStorage::database; }
  stdfs::path path() const { return m_options.study_dir / m_input.file; }
  std::string hint() const {
    return " (check the copy with `bdd verify " + m_options.study_name + "`)";
  }

  const StreamOptions& m_options;
  const Input& m_input;
  Tally& m_tally;
  std::unique_ptr<storage::EventSource> m_source;
  bool m_done = false;
};

// True if `a` and `b` are at the same place by time: only the ids order them.
bool same_time(const Item& a, const Item& b) {
  if (a.key.group != b.key.group || a.partition != b.partition) {
    return false;
  }
  switch (a.key.group) {
  case SortKey::timed:
    return a.key.instant == b.key.instant;
  case SortKey::untimed:
    return *a.event.stored_timestamp == *b.event.stored_timestamp;
  case SortKey::missing:
    break;
  }
  return true;
}

// An input's items with each group of equal times put in id order: a leaf file is in server
// order, which is stored-time order but not id order among equal times (common: the server
// stores many events in the same millisecond). A group larger than `k_max_tie_bytes` is
// yielded in parts, each sorted; if that leaves it out of order, the merge notices.
class TieSorted final : public ItemSource {
public:
  explicit TieSorted(std::unique_ptr<ItemSource> inner) : m_inner(std::move(inner)) {}

  Result<bool> next(Item& out) override {
    if (m_pos == m_group.size()) {
      BDD_TRY_ASSIGN(const bool any, refill());
      if (!any) {
        return false;
      }
    }
    std::swap(out, m_group[m_pos++]);
    return true;
  }

private:
  static constexpr std::size_t k_max_tie_bytes = std::size_t{4} << 20;

  Result<bool> refill() {
    m_group.clear();
    m_pos = 0;
    if (!m_has_pending) {
      BDD_TRY_ASSIGN(m_has_pending, m_inner->next(m_pending));
      if (!m_has_pending) {
        return false;
      }
    }
    std::size_t bytes = footprint(m_pending);
    m_group.push_back(std::move(m_pending));
    for (;;) {
      BDD_TRY_ASSIGN(m_has_pending, m_inner->next(m_pending));
      if (!m_has_pending || !same_time(m_pending, m_group.front()) || bytes > k_max_tie_bytes) {
        break;
      }
      bytes += footprint(m_pending);
      m_group.push_back(std::move(m_pending));
    }
    if (m_group.size() > 1) {
      std::sort(m_group.begin(), m_group.end(), item_before);
    }
    return true;
  }

  std::unique_ptr<ItemSource> m_inner;
  std::vector<Item> m_group;
  std::size_t m_pos = 0;
  Item m_pending;
  bool m_has_pending = false;
};

// A sorted run: items in a private binary format (native byte order, never kept).
class RunWriter {
public:
  static Result<RunWriter> create(const stdfs::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Error(Errc::storage, fs::describe_errno("cannot create", path, errno));
    }
    std::FILE* file = ::fdopen(fd, "wb");
    if (!file) {
      ::close(fd);
      return Error(Errc::storage, fs::describe_errno("cannot create", path, errno));
    }
    return RunWriter(path, file);
  }
  RunWriter(RunWriter&& other) noexcept
      : m_path(std::move(other.m_path)),
        m_file(std::exchange(other.m_file, nullptr)),
        m_buffer(std::move(other.m_buffer)) {}
  RunWriter& operator=(RunWriter&&) = delete;
  ~RunWriter() {
    if (m_file) {
      std::fclose(m_file);
    }
  }

  Result<void> write(const Item& item) {
    const std::uint8_t group = item.key.group;
    put(&group, 1);
    put(&item.key.instant, sizeof item.key.instant);
    const model::Event& e = item.event;
    text(e.id);
    text(e.user_id);
    text(e.event_type);
    optional(e.element_id);
    optional(e.timestamp);
    optional(e.stored_timestamp);
    optional(e.page_url);
    text(e.raw);
    text(item.partition);
    if (std::ferror(m_file)) {
      return Error(Errc::storage, fs::describe_errno("cannot write", m_path, errno));
    }
    return ok();
  }

  Result<void> close() {
    std::FILE* file = std::exchange(m_file, nullptr);
    if (std::fflush(file) != 0 || std::ferror(file)) {
      const int err = errno;
      std::fclose(file);
      return Error(Errc::storage, fs::describe_errno("cannot write", m_path, err));
    }
    if (std::fclose(file) != 0) {
      return Error(Errc::storage, fs::describe_errno("cannot write", m_path, errno));
    }
    return ok();
  }

private:
  RunWriter(stdfs::path path, std::FILE* file)
      : m_path(std::move(path)),
        m_file(file),
        m_buffer(std::make_unique<char[]>(k_buffer)) {
    std::setvbuf(m_file, m_buffer.get(), _IOFBF, k_buffer);
  }
  void put(const void* data, std::size_t size) { std::fwrite(data, 1, size, m_file); }
  void text(const std::string& value) {
    const std::uint64_t size = value.size();
    put(&size, sizeof size);
    put(value.data(), value.size());
  }
  void optional(const std::optional<std::string>& value) {
    const std::uint8_t present = value ? 1 : 0;
    put(&present, 1);
    if (value) {
      text(*value);
    }
  }

  static constexpr std::size_t k_buffer = std::size_t{1} << 20;
  stdfs::path m_path;
  std::FILE* m_file = nullptr;
  std::unique_ptr<char[]> m_buffer;
};

class RunSource final : public ItemSource {
public:
  explicit RunSource(stdfs::path path) : m_path(std::move(path)) {}
  ~RunSource() override {
    if (m_file) {
      std::fclose(m_file);
    }
  }
  RunSource(const RunSource&) = delete;
  RunSource& operator=(const RunSource&) = delete;

  Result<bool> next(Item& out) override {
    if (!m_file) {
      if (m_done) {
        return false;
      }
      m_file = std::fopen(m_path.c_str(), "rbe");
      if (!m_file) {
        return Error(Errc::storage, fs::describe_errno("cannot open", m_path, errno));
      }
      m_buffer = std::make_unique<char[]>(k_buffer);
      std::setvbuf(m_file, m_buffer.get(), _IOFBF, k_buffer);
    }
    std::uint8_t group = 0;
    if (std::fread(&group, 1, 1, m_file) != 1) {
      if (std::ferror(m_file)) {
        return damaged();
      }
      std::fclose(std::exchange(m_file, nullptr));
      m_buffer.reset();
      m_done = true;
      return false;
    }
    out.key.group = static_cast<SortKey::Group>(group);
    model::Event& e = out.event;
    if (!get(&out.key.instant, sizeof out.key.instant) || !text(e.id) || !text(e.user_id)
        || !text(e.event_type) || !optional(e.element_id) || !optional(e.timestamp)
        || !optional(e.stored_timestamp) || !optional(e.page_url) || !text(e.raw)
        || !text(out.partition)) {
      return damaged();
    }
    return true;
  }

private:
  Error damaged() const {
    return {Errc::storage, "cannot read the temporary file \"" + m_path.string() + "\""};
  }
  bool get(void* data, std::size_t size) { return std::fread(data, 1, size, m_file) == size; }
  bool text(std::string& value) {
    std::uint64_t size = 0;
    if (!get(&size, sizeof size) || size > (std::uint64_t{1} << 40)) {
      return false;
    }
    value.resize(size);
    return get(value.data(), size);
  }
  bool optional(std::optional<std::string>& value) {
    std::uint8_t present = 0;
    if (!get(&present, 1)) {
      return false;
    }
    if (!present) {
      value.reset();
      return true;
    }
    if (!value) {
      value.emplace();
    }
    return text(*value);
  }

  static constexpr std::size_t k_buffer = std::size_t{64} << 10;
  stdfs::path m_path;
  std::FILE* m_file = nullptr;
  std::unique_ptr<char[]> m_buffer;
  bool m_done = false;
};

using Emit = std::function<Result<void>(const Item&)>;

// Merges ascending `sources` into `emit`. False as soon as the merged sequence would not
// ascend (a source is out of order), after emitting a prefix.
Result<bool> merge(std::vector<std::unique_ptr<ItemSource>>& sources,
                   const Emit& emit,
                   const std::atomic<bool>* stop) {
  std::vector<Item> heads(sources.size());
  std::vector<std::size_t> heap;
  heap.reserve(sources.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    BDD_TRY_ASSIGN(const bool any, sources[i]->next(heads[i]));
    if (any) {
      heap.push_back(i);
    }
  }
  // A min-heap on the heads.
  const auto later = [&heads](std::size_t a, std::size_t b) {
    return item_before(heads[b], heads[a]);
  };
  std::make_heap(heap.begin(), heap.end(), later);
  Item current;
  Item previous;
  bool any_previous = false;
  std::uint64_t count = 0;
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const std::size_t i = heap.back();
    std::swap(current, heads[i]);
    BDD_TRY_ASSIGN(const bool more, sources[i]->next(heads[i]));
    if (more) {
      std::push_heap(heap.begin(), heap.end(), later);
    } else {
      heap.pop_back();
    }
    if (any_previous && item_before(current, previous)) {
      return false;
    }
    BDD_TRY(emit(current));
    std::swap(previous, current);
    any_previous = true;
    if ((++count & 1023) == 0) {
      BDD_TRY(check_stop(stop));
    }
  }
  return true;
}

} // namespace

SortKey sort_key(const model::Event& event) {
  SortKey key;
  if (!event.stored_timestamp) {
    key.group = SortKey::missing;
  } else if (const auto at = parse_instant(*event.stored_timestamp)) {
    key.group = SortKey::timed;
    key.instant = *at;
  } else {
    key.group = SortKey::untimed;
  }
  return key;
}

bool export_before(const SortKey& a,
                   const model::Event& ea,
                   const SortKey& b,
                   const model::Event& eb) {
  if (a.group != b.group) {
    return a.group < b.group;
  }
  if (a.group == SortKey::timed && a.instant != b.instant) {
    return a.instant < b.instant;
  }
  if (a.group == SortKey::untimed) {
    if (const int c = ea.stored_timestamp->compare(*eb.stored_timestamp); c != 0) {
      return c < 0;
    }
  }
  if (const int c = model::display_id(ea.id).compare(model::display_id(eb.id)); c != 0) {
    return c < 0;
  }
  return ea.id < eb.id;
}

struct EventStream::Impl {
  enum class Mode { unknown, direct, runs };

  explicit Impl(StreamOptions o) : options(std::move(o)) {}
  ~Impl() {
    runs.clear();
    if (!temp_dir.empty()) {
      static_cast<void>(fs::remove_tree(temp_dir));
    }
  }

  std::vector<std::unique_ptr<ItemSource>>
  input_sources(std::size_t begin, std::size_t end, Tally& read) const {
    std::vector<std::unique_ptr<ItemSource>> sources;
    for (std::size_t i = begin; i < end; ++i) {
      sources.push_back(std::make_unique<TieSorted>(
          std::make_unique<InputSource>(options, options.inputs[i], read)));
    }
    return sources;
  }

  Result<stdfs::path> new_run_path() {
    if (temp_dir.empty()) {
      std::string pattern = (options.temp_parent / ".bdd-export-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) {
        return Error(
            Errc::storage,
            fs::describe_errno("cannot create a temporary folder in", options.temp_parent, errno));
      }
      temp_dir = pattern;
    }
    return temp_dir / ("run-" + std::to_string(++run_counter));
  }

  // Writes one run from `sources` merged; false (and no run) if they were out of order.
  Result<bool> merge_to_run(std::vector<std::unique_ptr<ItemSource>>& sources,
                            std::vector<stdfs::path>& out) {
    BDD_TRY_ASSIGN(const stdfs::path path, new_run_path());
    BDD_TRY_ASSIGN(RunWriter writer, RunWriter::create(path));
    BDD_TRY_ASSIGN(
        const bool sorted,
        merge(
            sources, [&writer](const Item& item) { return writer.write(item); }, options.stop));
    BDD_TRY(writer.close());
    if (!sorted) {
      std::error_code ec;
      stdfs::remove(path, ec);
      return false;
    }
    out.push_back(path);
    return true;
  }

  // The inputs [begin, end) read one after the other into sorted runs of `run_bytes`.
  Result<void> sort_to_runs(std::size_t begin, std::size_t end, Tally& read) {
    std::vector<Item> chunk;
    std::size_t bytes = 0;
    const auto flush = [&]() -> Result<void> {
      std::sort(chunk.begin(), chunk.end(), item_before);
      BDD_TRY_ASSIGN(const stdfs::path path, new_run_path());
      BDD_TRY_ASSIGN(RunWriter writer, RunWriter::create(path));
      for (const Item& item : chunk) {
        BDD_TRY(writer.write(item));
      }
      BDD_TRY(writer.close());
      runs.push_back(path);
      chunk.clear();
      bytes = 0;
      return ok();
    };
    for (std::size_t i = begin; i < end; ++i) {
      InputSource source(options, options.inputs[i], read);
      for (;;) {
        Item item;
        BDD_TRY_ASSIGN(const bool any, source.next(item));
        if (!any) {
          break;
        }
        bytes += footprint(item);
        chunk.push_back(std::move(item));
        if (bytes >= options.run_bytes) {
          BDD_TRY(flush());
        }
        if ((chunk.size() & 1023) == 0) {
          BDD_TRY(check_stop(options.stop));
        }
      }
    }
    if (!chunk.empty()) {
      BDD_TRY(flush());
    }
    return ok();
  }

  std::vector<std::unique_ptr<ItemSource>> run_sources(std::size_t begin, std::size_t end) const {
    std::vector<std::unique_ptr<ItemSource>> sources;
    for (std::size_t i = begin; i < end; ++i) {
      sources.push_back(std::make_unique<RunSource>(runs[i]));
    }
    return sources;
  }

  // Every input into runs, then rounds of merges until at most `max_open` remain.
  Result<std::uint64_t> build_runs() {
    std::uint64_t read_total = 0;
    const std::size_t fan_in = std::max<std::size_t>(options.max_open, 2);
    for (std::size_t begin = 0; begin < options.inputs.size(); begin += fan_in) {
      const std::size_t end = std::min(begin + fan_in, options.inputs.size());
      Tally read;
      auto sources = input_sources(begin, end, read);
      BDD_TRY_ASSIGN(const bool sorted, merge_to_run(sources, runs));
      if (!sorted) {
        read = {};
        BDD_TRY(sort_to_runs(begin, end, read));
      }
      read_total += read.read;
    }
    while (runs.size() > fan_in) {
      std::vector<stdfs::path> merged;
      for (std::size_t begin = 0; begin < runs.size(); begin += fan_in) {
        const std::size_t end = std::min(begin + fan_in, runs.size());
        auto sources = run_sources(begin, end);
        BDD_TRY(merge_to_run(sources, merged));
        sources.clear();
        for (std::size_t i = begin; i < end; ++i) {
          std::error_code ec;
          stdfs::remove(runs[i], ec);
        }
      }
      runs = std::move(merged);
    }
    return read_total;
  }

  StreamOptions options;
  Mode mode = Mode::unknown;
  bool runs_ready = false;
  stdfs::path temp_dir;
  std::vector<stdfs::path> runs;
  std::uint64_t run_counter = 0;
};

EventStream::EventStream(StreamOptions options)
    : m_impl(std::make_unique<Impl>(std::move(options))) {
  std::set<std::string_view> files;
  for (const Input& input : m_impl->options.inputs) {
    files.insert(input.file);
  }
  m_stats.files = files.size();
}

EventStream::~EventStream() = default;

Result<void> EventStream::for_each(const Visitor& visit, const Rewind& rewind) {
  Impl& impl = *m_impl;
  const StreamOptions& options = impl.options;
  std::uint64_t emitted = 0;
  const Emit emit = [&](const Item& item) -> Result<void> {
    ++emitted;
    return visit(item.event);
  };
  const Emit count_only = [](const Item&) -> Result<void> { return ok(); };
  const bool first_pass = impl.mode == Impl::Mode::unknown;
  Tally read;

  if (!impl.runs_ready && impl.mode != Impl::Mode::runs
      && options.inputs.size() <= options.max_open) {
    if (impl.mode == Impl::Mode::unknown && !rewind) {
      auto sources = impl.input_sources(0, options.inputs.size(), read);
      BDD_TRY_ASSIGN(const bool sorted, merge(sources, count_only, options.stop));
      impl.mode = sorted ? Impl::Mode::direct : Impl::Mode::runs;
      read = {};
    }
    if (impl.mode != Impl::Mode::runs) {
      auto sources = impl.input_sources(0, options.inputs.size(), read);
      BDD_TRY_ASSIGN(const bool sorted, merge(sources, emit, options.stop));
      if (sorted) {
        impl.mode = Impl::Mode::direct;
        if (first_pass) {
          m_stats.events_read = read.read;
        }
        m_stats.events = emitted;
        return ok();
      }
      if (!rewind) {
        return Error(Errc::storage,
                     "the data files of study \"" + options.study_name
                         + "\" changed during the export; run it again");
      }
      BDD_TRY(rewind());
      emitted = 0;
      impl.mode = Impl::Mode::runs;
    }
  }
  if (!impl.runs_ready) {
    impl.mode = Impl::Mode::runs;
    BDD_TRY_ASSIGN(m_stats.events_read, impl.build_runs());
    impl.runs_ready = true;
    m_stats.runs = impl.run_counter;
  }
  auto sources = impl.run_sources(0, impl.runs.size());
  BDD_TRY(merge(sources, emit, options.stop));
  m_stats.events = emitted;
  return ok();
}

} // namespace bdd::exporting
