#pragma once

// File operations the writers of leaf files and of part files share: writing all bytes,
// creating and removing files beneath the study directory without following links, and the
// directory syncs that make new entries durable. Internal to storage/.

#include <bdd/core/fs.hpp>
#include <bdd/core/result.hpp>

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace bdd::storage {

Error storage_error(std::string_view action, const std::filesystem::path& path, int err);

// The study directory opened for the *at() calls that reach its files without following links
// (fs::open_beneath); Errc::storage naming it if it cannot be opened.
Result<fs::UniqueFd> open_study_directory(const std::filesystem::path& dir);

// A leaf that is a link, or lies behind one: bdd writes nothing through it (it could point
// anywhere outside the study).
Error link_error(std::string_view action, const std::filesystem::path& path);

// `link_error` for ELOOP, else `storage_error`.
Error open_error(std::string_view action, const std::filesystem::path& path, int err);

// Write `pieces` one after the other from `offset`: one system call for all of them, unless the
// kernel takes less.
Result<void> pwrite_all(int fd,
                        std::uint64_t offset,
                        const std::vector<std::string_view>& pieces,
                        const std::filesystem::path& path);

// Every directory whose entries lead from `root` to `relative_file`, `root` included: the ones
// to fsync so that a new file is still reachable after a power loss. Syncing the existing ones
// too covers a directory made by an earlier commit that failed before its own sync.
void add_ancestors(const std::filesystem::path& root,
                   const std::filesystem::path& relative_file,
                   std::vector<std::filesystem::path>& out);

// From this many files written in one commit, one syncfs() of the study's file system (through a
// descriptor opened before the first write, so that it reports any writeback error since then)
// replaces an fdatasync per file and an fsync per new directory entry. Below it, per-file syncs
// are cheaper and leave the rest of the file system alone.
inline constexpr std::size_t k_sync_whole_fs_leaves = 16;

// fsync each of `dirs` once (sorts them and drops repeats).
Result<void> sync_directories(std::vector<std::filesystem::path>& dirs);

// A relative path with no "..", "." or empty component.
bool is_plain_relative(const std::filesystem::path& path);

// Create `relative` (O_CREAT | O_EXCL, and its folders) beneath the study directory `root_fd`
// (`root` its path, for messages) for writing, through no link. A file already there fails:
// bdd did not write it. Returns the descriptor.
Result<int>
create_beneath(int root_fd, const std::filesystem::path& root, const std::string& relative);

// Remove the file `relative` beneath the study directory `root_fd` (`root` its path) and then
// every folder on its way that is left empty, each entry through its parent opened beneath the
// study (unlinkat and rmdir by path would follow a link on the way), then fsync the folders that
// changed, or with `changed_dirs` add them there for the caller to sync (many files removed
// together). A file or folder already gone is no error.
Result<void> remove_created_file(int root_fd,
                                 const std::filesystem::path& root,
                                 const std::filesystem::path& relative,
                                 std::vector<std::filesystem::path>* changed_dirs = nullptr);

} // namespace bdd::storage
