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
  const std::string_view extension = format_info(Format::parquet).extension;
  std::string name = last.substr(0, last.size() - extension.size() - 1); // without ".<ext>"
  name += "-c.";
  name += extension;
  return name;
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
    std::size_t first = first_small;
    if (parts.size() <= rule.max_parts && small_bytes < rule.large_part_bytes) {
      std::uint64_t tiny_bytes = 0;
      first = parts.size();
      while (first > first_small && tiny_bytes + parts[first - 1]->size <= rule.tiny_bytes) {
        --first;
        tiny_bytes += parts[first]->size;
      }
    }
    if (parts.size() - first < 2) {
      continue;
    }
    Compaction merge;
    for (std::size_t i = first; i < parts.size(); ++i) {
      merge.parts.push_back(parts[i]->path);
    }
    merge.target = merged_name(merge.parts.back());
    out.push_back(std::move(merge));
  }
  return out;
}

namespace {

// One merge of merge_parts; with `sync`, the target is fdatasync'ed and its folder fsynced.
Result<MergedPart> merge_one(int root_fd,
                             const stdfs::path& study_dir,
                             const std::string& study_name,
                             const Compaction& compaction,
                             bool sync) {
  const stdfs::path target = study_dir / compaction.target;
  BDD_TRY_ASSIGN(const int opened, create_beneath(root_fd, study_dir, compaction.target));
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
  if ((sync && ::fdatasync(fd.get()) != 0) || !fd.close()) {
    return storage_error("cannot write", target, errno);
  }
  if (sync) {
    BDD_TRY(fs::sync_directory(target.parent_path()));
  }
  return MergedPart{offset, hash.finish_hex(), writer->rows()};
}

} // namespace

Result<std::vector<MergedPart>> merge_parts(const stdfs::path& study_dir,
                                            const std::string& study_name,
                                            const std::vector<Compaction>& merges) {
  // Opened before the first write, so that syncfs() reports any writeback error since then.
  BDD_TRY_ASSIGN(fs::UniqueFd root_fd, open_study_directory(study_dir));
  const bool sync_whole_fs = merges.size() >= k_sync_whole_fs_leaves;
  std::vector<MergedPart> out;
  out.reserve(merges.size());
  for (const Compaction& merge : merges) {
    BDD_TRY_ASSIGN(MergedPart part,
                   merge_one(root_fd.get(), study_dir, study_name, merge, !sync_whole_fs));
    out.push_back(std::move(part));
  }
  if (sync_whole_fs && ::syncfs(root_fd.get()) != 0) {
    return storage_error("cannot write", study_dir, errno);
  }
  return out;
}

Result<void> remove_data_files(const stdfs::path& study_dir,
                               const std::vector<std::string>& relative) {
  BDD_TRY_ASSIGN(fs::UniqueFd root_fd, open_study_directory(study_dir));
  const bool sync_whole_fs = relative.size() >= k_sync_whole_fs_leaves;
  std::vector<stdfs::path> dirs_to_sync;
  for (const std::string& file : relative) {
    if (!is_plain_relative(stdfs::path(file))) {
      return Error(Errc::storage, "cannot remove \"" + file + "\": not a path inside the study");
    }
    BDD_TRY(remove_created_file(root_fd.get(), study_dir, stdfs::path(file), &dirs_to_sync));
    if (sync_whole_fs) {
      dirs_to_sync.clear(); // syncfs() covers them
    }
  }
  if (!sync_whole_fs) {
    return sync_directories(dirs_to_sync);
  }
  if (::syncfs(root_fd.get()) != 0) {
    return storage_error("cannot remove files in", study_dir, errno);
  }
  return ok();
}

} // namespace bdd::storage
