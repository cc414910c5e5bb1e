#include "compaction.hpp"

#include "file_io.hpp"
#include "parquet_file.hpp"

#include <bdd/core/format.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/core/sha256.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

namespace bdd::storage {

namespace {

namespace stdfs = std::filesystem;

std::string_view folder_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view name_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The merged part of `last` (the last part merged): its name with "-c" before the extension,
// which sorts after `last`'s predecessors and before every part committed after it
// ("...-000007-c.parquet" < "...-000008.parquet").
std::string merged_name(const std::string& last) {
  const std::string extension = "." + std::string(format_info(Format::parquet).extension);
  return last.substr(0, last.size() - extension.size()) + "-c" + extension;
}

} // namespace

std::vector<Compaction> plan_compactions(const std::vector<PartFile>& files,
                                         const CompactionRule& rule) {
  const FormatInfo& parquet = format_info(Format::parquet);
  std::map<std::string_view, std::vector<const PartFile*>> leaves;
  for (const PartFile& file : files) {
    if (is_data_file_name(parquet, name_of(file.path))) {
      leaves[folder_of(file.path)].push_back(&file);
    }
  }
  std::vector<Compaction> out;
  for (auto& [folder, parts] : leaves) {
    std::sort(parts.begin(), parts.end(), [](const PartFile* left, const PartFile* right) {
      return left->path < right->path;
    });
    std::size_t first_small = parts.size();
    std::uint64_t small_bytes = 0;
    while (first_small > 0 && parts[first_small - 1]->size < rule.large_part_bytes) {
      --first_small;
      small_bytes += parts[first_small]->size;
    }
    const std::size_t small = parts.size() - first_small;
    if (small < 2 || (parts.size() <= rule.max_parts && small_bytes < rule.large_part_bytes)) {
      continue;
    }
    Compaction merge;
    for (std::size_t i = first_small; i < parts.size(); ++i) {
      merge.parts.push_back(parts[i]->path);
    }
    merge.target = merged_name(merge.parts.back());
    out.push_back(std::move(merge));
  }
  return out;
}

Result<MergedPart> merge_parts(const stdfs::path& study_dir,
                               const std::string& study_name,
                               const Compaction& compaction) {
  BDD_TRY_ASSIGN(fs::UniqueFd root_fd, open_study_directory(study_dir));
  const stdfs::path target = study_dir / compaction.target;
  BDD_TRY_ASSIGN(const int opened, create_beneath(root_fd.get(), study_dir, compaction.target));
  fs::UniqueFd fd(opened);
  Sha256 hash;
  std::uint64_t offset = 0;
  parquet::FileWriterOptions encoding;
  encoding.study_name = study_name;
  BDD_TRY_ASSIGN(auto writer,
                 parquet::make_file_writer(
                     [&](std::string_view bytes) -> Result<void> {
                       BDD_TRY(pwrite_all(fd.get(), offset, {bytes}, target));
                       hash.update(bytes);
                       offset += bytes.size();
                       return ok();
                     },
                     encoding));
  for (const std::string& part : compaction.parts) {
    const stdfs::path path = study_dir / part;
    auto opened_reader = parquet::open_file_reader(path);
    if (!opened_reader) {
      return Error(opened_reader.error().code,
                   "cannot compact \"" + path.string() + "\": " + opened_reader.error().message);
    }
    auto& reader = *opened_reader;
    for (;;) {
      auto row = reader->next();
      if (!row) {
        return Error(row.error().code,
                     "cannot compact \"" + path.string() + "\": " + row.error().message);
      }
      if (!*row) {
        break;
      }
      BDD_TRY(writer->add(**row));
    }
  }
  BDD_TRY(writer->finish());
  if (::fdatasync(fd.get()) != 0 || !fd.close()) {
    return storage_error("cannot write", target, errno);
  }
  BDD_TRY(fs::sync_directory(target.parent_path()));
  return MergedPart{offset, hash.finish_hex(), writer->rows()};
}

Result<void> remove_data_file(const stdfs::path& study_dir, const std::string& relative) {
  if (!is_plain_relative(stdfs::path(relative))) {
    return Error(Errc::storage, "cannot remove \"" + relative + "\": not a path inside the study");
  }
  BDD_TRY_ASSIGN(fs::UniqueFd root_fd, open_study_directory(study_dir));
  return remove_created_file(root_fd.get(), study_dir, stdfs::path(relative));
}

} // namespace bdd::storage
