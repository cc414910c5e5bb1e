// The table of storage backends, and the functions of writer.hpp and reader.hpp that look a
// format up in it.

#include "backend.hpp"

#include "csv_writer.hpp"
#include "json_writer.hpp"
#include "jsonl_writer.hpp"
#include "part_writer.hpp"
#include "readers.hpp"
#include "sources.hpp"
#include "sqlite_writer.hpp"

#include <bdd/core/fs.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace bdd::storage {

namespace {

// The JSON writer's layouts (json_writer.cpp): a head line, one event per line with a comma
// after every event but the last, then a tail that the next commit overwrites. An array: "[",
// events, "]" and an empty line. The original tool's document: a head line ending in
// `"events":[`, events, "]}".
constexpr std::string_view k_json_array_tail = "\n]\n\n";
constexpr std::string_view k_json_document_tail = "\n]}\n";
static_assert(k_json_document_tail.size() == k_json_array_tail.size(),
              "one rewritten_tail serves both json layouts");

// clang-format off
const std::array k_backends = {
    Backend{Format::json,   &make_json_writer,   &open_json_reader,   &open_json_source,   TextLayout{",\n", k_json_array_tail}, k_json_array_tail},
    Backend{Format::jsonl,  &make_jsonl_writer,  &open_jsonl_reader,  &open_jsonl_source,  TextLayout{"\n", "\n"},         {}},
    Backend{Format::csv,    &make_csv_writer,    &open_csv_reader,    &open_csv_source,    TextLayout{"\r\n", "\r\n"},     {}},
    Backend{Format::sqlite, &make_sqlite_writer, &open_sqlite_reader, &open_sqlite_source, std::nullopt,                   {}},
    Backend{Format::parquet, &make_parquet_writer, &open_parquet_reader, &open_parquet_source, std::nullopt,                {}},
};
// clang-format on

Result<const Backend*> backend_of(std::string_view name) {
  BDD_TRY_ASSIGN(const Format format, parse_format(name));
  if (const Backend* backend = find_backend(format)) {
    return backend;
  }
  return Error(Errc::config, "storage format \"" + std::string(name) + "\" has no backend");
}

// Writers create files lazily, so check up front that the study directory can take them.
Result<void> check_study_dir(const std::filesystem::path& dir) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) {
    return Error(Errc::storage, fs::describe_errno("cannot open", dir, errno));
  }
  if (!S_ISDIR(info.st_mode)) {
    return Error(Errc::storage, fs::describe_errno("cannot open", dir, ENOTDIR));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Error(Errc::storage, fs::describe_errno("cannot write to", dir, errno));
  }
  return ok();
}

} // namespace

std::span<const Backend> backends() {
  return k_backends;
}

const Backend* find_backend(Format format) {
  for (const Backend& backend : k_backends) {
    if (backend.format == format) {
      return &backend;
    }
  }
  return nullptr;
}

Result<std::unique_ptr<Writer>> make_writer(std::string_view format, const WriterOptions& options) {
  BDD_TRY_ASSIGN(const Backend* backend, backend_of(format));
  BDD_TRY(check_study_dir(options.study_dir));
  return backend->make_writer(options);
}

std::vector<std::string_view> writer_formats() {
  std::vector<std::string_view> out;
  for (const FormatInfo& info : formats()) {
    if (find_backend(info.format) != nullptr) {
      out.push_back(info.name);
    }
  }
  return out;
}

Result<std::unique_ptr<EventReader>> open_reader(std::string_view format,
                                                 const std::filesystem::path& path,
                                                 const ReadOptions& options) {
  BDD_TRY_ASSIGN(const Backend* backend, backend_of(format));
  return backend->open_reader(path, options);
}

Result<std::unique_ptr<EventSource>> open_event_source(std::string_view format,
                                                       const std::filesystem::path& path,
                                                       const Selection& selection) {
  BDD_TRY_ASSIGN(const Backend* backend, backend_of(format));
  return backend->open_source(path, selection);
}

std::optional<TextLayout> text_layout(std::string_view format, std::string_view head) {
  const auto found = find_format(format);
  const Backend* backend = found ? find_backend(*found) : nullptr;
  if (!backend || !backend->layout) {
    return std::nullopt;
  }
  if (*found == Format::json && !head.empty() && head.front() == '{') {
    return TextLayout{backend->layout->separator, k_json_document_tail};
  }
  return backend->layout;
}

std::string_view rewritten_tail(std::string_view format) {
  const auto found = find_format(format);
  const Backend* backend = found ? find_backend(*found) : nullptr;
  return backend ? backend->rewritten_tail : std::string_view();
}

} // namespace bdd::storage
