#pragma once

// Where the rows of an export go: one writer per output format, and the output file that
// appears only when complete.

#include <bdd/core/result.hpp>
#include <bdd/export/flatten.hpp>
#include <bdd/model/event.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bdd::exporting {

// Where a writer writes: an open descriptor, and the file's path (the temporary file beside the
// output; empty for standard output) for writers that need a path and for messages.
struct OutputTarget {
  int fd = -1;
  std::filesystem::path path;
  std::string shown; // the name in messages: the final output path, or "standard output"
};

// The rows of one export in one format. Used from one thread.
class RowWriter {
public:
  virtual ~RowWriter() = default;
  // One row: the normalised event (model::to_normalised_json's nine fields, `raw` as `data`).
  virtual Result<void> write(const model::Event& event) = 0;
  // Everything written (a JSON array closed); the descriptor is neither synced nor closed.
  virtual Result<void> finish() = 0;
  // Bytes handed to the descriptor so far.
  virtual std::uint64_t bytes_written() const = 0;
};

// The output formats `make_row_writer` knows ("csv", "jsonl", "json", "xlsx"), in --help order.
std::vector<std::string_view> row_formats();
// Whether `format` can be written to standard output (a stream, not a file to seek in).
bool streams_to_stdout(std::string_view format);
// Whether `format` is a table that `--flatten` can spread `data` over (csv, xlsx).
bool flattens(std::string_view format);
// Whether `format` can write `--partition-by`'s folder of files (not xlsx: engines that read
// hive folders do not read spreadsheets).
bool partitions(std::string_view format);
// The extension of an output file of `format` (the default output name).
std::string_view row_extension(std::string_view format);

// A writer of `format` to `target` with `study_name` in every row that has it: "csv" (the csv
// storage format's header and rows: storage::append_csv_row), "jsonl" (one
// model::to_normalised_json per line), "json" (one JSON array of them, one per line), "xlsx"
// (one sheet with the csv columns, see XlsxWriter; written to `target.path`). With `flat` (csv
// and xlsx only; it must outlive the writer), `data` is spread over the columns `flat` collected:
// csv cells keep their JSON meaning (numbers and booleans bare, strings quoted when needed,
// absent and null empty). Fails with Errc::usage for another format or a format that does not
// flatten.
Result<std::unique_ptr<RowWriter>> make_row_writer(std::string_view format,
                                                   const OutputTarget& target,
                                                   std::string study_name,
                                                   const FlatColumns* flat = nullptr);

// `data` written to `fd` whole (retrying short writes and EINTR); Errc::storage naming `shown`,
// with ENOSPC in words, if it fails (see `is_broken_pipe` for a reader that went away).
Result<void> write_all(int fd, std::string_view data, std::string_view shown);

// True if `error` is `write_all`'s for a pipe whose reader closed it (EPIPE).
bool is_broken_pipe(const Error& error);

// The file of an export: written as `.<name>.<random>.tmp` beside `final_path` and renamed
// over it by `commit` after an fsync, so the output appears only when complete. Destroyed
// uncommitted (an error, an interruption), it removes the temporary file.
class OutputFile {
public:
  // Refuses (Errc::usage) an existing `final_path` unless `force`, and (Errc::storage) a folder
  // that cannot take the file.
  static Result<OutputFile> create(const std::filesystem::path& final_path, bool force);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile();

  OutputTarget target() const { return {m_fd, m_temp, m_final.string()}; }
  // Empty the file again (a pass that starts over).
  Result<void> rewind();
  // fsync, rename over the output (refused if it appeared meanwhile and not `force`), fsync
  // the folder.
  Result<void> commit();

private:
  OutputFile(std::filesystem::path final_path, std::filesystem::path temp, int fd, bool force)
      : m_final(std::move(final_path)),
        m_temp(std::move(temp)),
        m_fd(fd),
        m_force(force) {}
  std::filesystem::path m_final;
  std::filesystem::path m_temp;
  int m_fd = -1;
  bool m_force = false;
};

} // namespace bdd::exporting
