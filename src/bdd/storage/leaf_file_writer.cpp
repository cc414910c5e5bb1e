#include "leaf_file_writer.hpp"

#include "file_io.hpp"

#include <bdd/core/fs.hpp>
#include <bdd/storage/layout.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

namespace bdd::storage {

namespace {

namespace stdfs = std::filesystem;

// A batch's bytes are kept in chunks of this size: a large batch never reallocates (briefly
// holding old and new copies) and never carries a doubling's unused capacity.
constexpr std::size_t k_chunk_bytes = std::size_t{256} << 10;

Result<std::string>
pread_exact(int fd, std::uint64_t offset, std::size_t size, const stdfs::path& path) {
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return storage_error("cannot read", path, errno);
    }
    if (n == 0) {
      break; // shrank under us: the comparison below fails and reports it
    }
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

// The size of an existing leaf (0 if it does not exist), after checking that it ends like a
// complete file of this format: appending to a cut-off or edited file would corrupt it further.
// Opened beneath the study directory `root_fd` without following links.
Result<std::uint64_t> inspect_leaf(int root_fd,
                                   const std::string& relative,
                                   const stdfs::path& path,
                                   std::string_view required_ending) {
  fs::UniqueFd fd(fs::open_beneath(root_fd, relative, O_RDONLY));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return std::uint64_t{0};
    }
    return errno == ELOOP ? link_error("cannot append to", path)
                          : storage_error("cannot open", path, errno);
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return storage_error("cannot read", path, errno);
  }
  if (!S_ISREG(info.st_mode)) {
    return Error(Errc::storage, "cannot append to \"" + path.string() + "\": not a regular file");
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size == 0) {
    return size;
  }
  const std::size_t check = required_ending.size();
  std::string ending;
  if (size >= check) {
    BDD_TRY_ASSIGN(ending, pread_exact(fd.get(), size - check, check, path));
  }
  if (ending != required_ending) {
    return Error(Errc::storage,
                 "cannot append to \"" + path.string()
                     + "\": it does not end with a complete event (was it edited or cut short?)");
  }
  return size;
}

// The bytes [begin, end) of a file are on disk: hand their page cache back. A download writes
// far more than it will read soon, and the next commit then reuses these pages instead of
// taking fresh ones (a 1M-event download's system time fell from 3.0 to 1.7 s) and pushing out
// other files' cache. The last, partly filled page stays: the next append writes into it.
// Advice only: a failure changes nothing.
void drop_cached_pages(int fd, std::uint64_t begin, std::uint64_t end) {
  static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t whole_pages_end = end / page * page;
  if (whole_pages_end > begin) {
    ::posix_fadvise(fd,
                    static_cast<off_t>(begin),
                    static_cast<off_t>(whole_pages_end - begin),
                    POSIX_FADV_DONTNEED);
  }
}

// Call `work(i, scratch)` for every i in [0, count) on this thread and up to three more, each
// with its own scratch vector; stops at the first failure and returns it (or rethrows it, once
// every thread is joined). Creating a file or a folder is mostly the kernel's CPU time (ext4
// searches its inode bitmaps), so a commit that makes thousands of leaves finishes sooner on
// several cores.
template <typename Work>
Result<void> for_each_in_parallel(std::size_t count, const Work& work) {
  constexpr std::size_t k_max_threads = 4;
  constexpr std::size_t k_items_per_thread = 64; // fewer are not worth a thread
  const std::size_t threads = std::clamp<std::size_t>(
      std::min<std::size_t>(std::thread::hardware_concurrency(), count / k_items_per_thread),
      1,
      k_max_threads);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex first_failure_mutex;
  std::optional<Error> first_error;
  std::exception_ptr first_exception;
  const auto run = [&] {
    std::vector<std::string_view> scratch;
    for (std::size_t i = next++; i < count && !failed; i = next++) {
      std::optional<Error> error;
      std::exception_ptr exception;
      try {
        if (Result<void> result = work(i, scratch); !result) {
          error = std::move(result).error();
        }
      } catch (...) {
        exception = std::current_exception();
      }
      if (error || exception) {
        const std::lock_guard lock(first_failure_mutex);
        if (!first_error && !first_exception) {
          first_error = std::move(error);
          first_exception = exception;
        }
        failed = true;
      }
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(run);
    } catch (const std::system_error&) {
      break; // no thread to be had: the others do the work
    }
  }
  run();
  for (std::thread& helper : helpers) {
    helper.join();
  }
  if (first_exception) {
    std::rethrow_exception(first_exception);
  }
  if (first_error) {
    return *first_error;
  }
  return ok();
}

} // namespace

LeafFileWriter::LeafFileWriter(WriterOptions options, std::string_view extension)
    : m_options(std::move(options)),
      m_file_name("events." + std::string(extension)) {}

void LeafFileWriter::prepare(model::Event& event) const {
  if (!event.unusable.empty()) {
    return; // never stored: write() refuses it (the fetching threads prepare every event)
  }
  model::Event::Prepared prepared;
  if (!m_options.folder_structure.empty()) {
    prepared.leaf = leaf_directory_string(event, m_options.folder_structure, m_options.naming);
  }
  prepared.bytes.reserve(event.raw.size() + event.raw.size() / 4 + 128);
  append_event(prepared.bytes, event);
  event.prepared = std::move(prepared);
  // The bytes embed the raw event, and nothing after this needs it apart: pages wait in memory
  // for the engine (several per fetching thread), and this halves what they hold.
  event.raw = std::string();
}

std::string_view LeafFileWriter::Batch::keep(std::string_view bytes) {
  if (chunks.empty() || chunks.back().capacity() - chunks.back().size() < bytes.size()) {
    if (!spare.empty() && bytes.size() <= k_chunk_bytes) {
      chunks.push_back(std::move(spare.back()));
      spare.pop_back();
      chunks.back().clear();
    } else {
      chunks.emplace_back().reserve(std::max(k_chunk_bytes, bytes.size()));
    }
  }
  std::string& chunk = chunks.back();
  const std::size_t at = chunk.size();
  chunk.append(bytes);
  kept_bytes += bytes.size();
  return {chunk.data() + at, bytes.size()};
}

Result<void> LeafFileWriter::write(const model::Event& event) {
  if (m_closed) {
    return Error(Errc::internal, "storage writer used after close");
  }
  if (!event.unusable.empty()) {
    return Error(Errc::internal, "an unusable event was handed to the storage writer");
  }
  std::string leaf_dir;
  if (event.prepared) {
    leaf_dir = event.prepared->leaf;
  } else if (!m_options.folder_structure.empty()) {
    leaf_dir = leaf_directory_string(event, m_options.folder_structure, m_options.naming);
  }
  auto [slot, inserted] = m_pending.index.try_emplace(std::move(leaf_dir), m_pending.leaves.size());
  if (inserted) {
    const std::string& dir = slot->first;
    m_pending.leaves.push_back(
        {dir.empty() ? m_file_name : dir + "/" + m_file_name, file_head(event), {}});
  }
  std::string_view bytes;
  if (event.prepared) {
    bytes = event.prepared->bytes;
  } else {
    m_scratch.clear();
    append_event(m_scratch, event);
    bytes = m_scratch;
  }
  const std::string_view kept = m_pending.keep(bytes);
  std::vector<std::string_view>& body = m_pending.leaves[slot->second].body;
  // Right after the leaf's last piece in the same chunk: one piece to write.
  const bool new_chunk = kept.data() == m_pending.chunks.back().data();
  if (!new_chunk && !body.empty() && body.back().data() + body.back().size() == kept.data()) {
    body.back() = {body.back().data(), body.back().size() + kept.size()};
  } else {
    body.push_back(kept);
  }
  return ok();
}

void LeafFileWriter::seal_batch() {
  if (m_is_sealed) {
    return; // the sealed batch waits for its commit; later events stay in the open one
  }
  Batch next;
  for (std::string& chunk : m_sealed.chunks) {   // committed, so only their memory is of use
    if (chunk.capacity() <= 2 * k_chunk_bytes) { // not one of a huge event's own chunks
      next.spare.push_back(std::move(chunk));
    }
  }
  m_sealed = std::move(m_pending); // moves the chunks' buffers, not their bytes: views hold
  m_pending = std::move(next);
  m_is_sealed = true;
}

Result<std::vector<FileExtent>> LeafFileWriter::commit(const JournalFn& journal,
                                                       const WrittenFn& written) {
  if (m_closed) {
    return Error(Errc::internal, "storage writer used after close");
  }
  seal_batch(); // without an earlier seal, the commit takes every event written so far
  const stdfs::path& root = m_options.study_dir;

  // Every leaf is opened beneath this descriptor and never through a link (see
  // fs::open_beneath), so nothing planted inside the study redirects a write outside it.
  BDD_TRY_ASSIGN(fs::UniqueFd root_fd, open_study_directory(root));

  // 1. Sizes before the commit, and a check that each existing file is intact. Nothing written.
  std::vector<FileExtent> before;
  before.reserve(m_sealed.leaves.size());
  for (const PendingLeaf& leaf : m_sealed.leaves) {
    const stdfs::path path = root / leaf.relative_path;
    // A leaf this writer committed and that still has that size ends as this writer left it
    // (the study lock keeps other bdd processes out): one stat instead of reading its end.
    // AT_SYMLINK_NOFOLLOW: a link in its place is inspected (and refused) below.
    if (const auto known = m_known_sizes.find(leaf.relative_path); known != m_known_sizes.end()) {
      struct stat info {};
      if (::fstatat(root_fd.get(), leaf.relative_path.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISREG(info.st_mode) && static_cast<std::uint64_t>(info.st_size) == known->second) {
        before.push_back({leaf.relative_path, known->second});
        continue;
      }
    }
    BDD_TRY_ASSIGN(auto size,
                   inspect_leaf(root_fd.get(), leaf.relative_path, path, required_ending()));
    before.push_back({leaf.relative_path, size});
  }

  // 2. The journal makes those sizes durable before any byte changes.
  BDD_TRY(journal(before));

  // 3. Append to each leaf and make it durable. Few leaves: one open, a few pwrite calls and
  // one fdatasync per leaf (fdatasync also persists the new size, which is all an append
  // changes), then an fsync of each directory that gained an entry. Many leaves (a deep
  // folder_structure touches thousands per commit): write them all, then one syncfs() of the
  // study's file system, which writes back every dirty page and commits the file system journal
  // (new entries and directories included) in one flush instead of one per file. The directory
  // is opened before the first write so that syncfs() reports any writeback error since then.
  m_known_sizes.clear(); // until this commit succeeds, trust no remembered size
  const bool sync_per_file = m_sealed.leaves.size() < k_sync_whole_fs_leaves;
  std::vector<stdfs::path> dirs_to_sync;
  const std::string_view tail = file_tail();
  // Where each leaf's bytes went: from `offset`, `length` bytes.
  struct Placed {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };
  std::vector<Placed> placed(m_sealed.leaves.size());
  const auto pieces_of = [&](std::size_t i, std::vector<std::string_view>& pieces) {
    const PendingLeaf& leaf = m_sealed.leaves[i];
    const bool is_new = before[i].size == 0;
    pieces.clear();
    if (is_new) {
      pieces.emplace_back(leaf.head);
    }
    pieces.insert(pieces.end(), leaf.body.begin(), leaf.body.end());
    if (is_new) {
      pieces[1].remove_prefix(separator_size()); // nothing precedes the first event
    }
    pieces.push_back(tail);
  };
  const auto write_leaf = [&](std::size_t i,
                              std::vector<std::string_view>& pieces) -> Result<void> {
    const stdfs::path relative(m_sealed.leaves[i].relative_path);
    const stdfs::path path = root / relative;
    const std::uint64_t old_size = before[i].size;
    const bool is_new = old_size == 0;
    const std::string& relative_path = m_sealed.leaves[i].relative_path;
    int opened = -1;
    if (is_new) {
      // O_EXCL: a file that appeared since step 1 is not bdd's to append to.
      BDD_TRY_ASSIGN(opened, create_beneath(root_fd.get(), root, relative_path));
      if (sync_per_file) {
        add_ancestors(root, relative, dirs_to_sync);
      }
    } else {
      // No O_CREAT: a leaf that vanished since step 1 is an error, not a new empty file.
      opened = fs::open_beneath(root_fd.get(), relative_path, O_WRONLY);
    }
    fs::UniqueFd fd(opened);
    if (fd.get() < 0) {
      return open_error(is_new ? "cannot create" : "cannot open", path, errno);
    }
    // The old tail lies inside the journaled size; rollback() restores it.
    const std::uint64_t offset = is_new ? 0 : old_size - tail.size();
    pieces_of(i, pieces);
    BDD_TRY(pwrite_all(fd.get(), offset, pieces, path));
    std::uint64_t length = 0;
    for (std::string_view piece : pieces) {
      length += piece.size();
    }
    if (sync_per_file && ::fdatasync(fd.get()) != 0) {
      return storage_error("cannot write", path, errno);
    }
    if (sync_per_file) {
      drop_cached_pages(fd.get(), offset, offset + length);
    }
    if (!fd.close()) {
      return storage_error("cannot write", path, errno);
    }
    placed[i] = {offset, length};
    return ok();
  };
  if (sync_per_file) {
    std::vector<std::string_view> pieces;
    for (std::size_t i = 0; i < m_sealed.leaves.size(); ++i) {
      BDD_TRY(write_leaf(i, pieces));
    }
  } else {
    BDD_TRY(for_each_in_parallel(m_sealed.leaves.size(), write_leaf));
  }
  std::vector<FileExtent> after;
  after.reserve(m_sealed.leaves.size());
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < m_sealed.leaves.size(); ++i) {
    const std::string& relative_path = m_sealed.leaves[i].relative_path;
    if (written) {
      pieces_of(i, pieces);
      written({relative_path, placed[i].offset}, pieces);
    }
    after.push_back({relative_path, placed[i].offset + placed[i].length});
  }
  if (sync_per_file) {
    BDD_TRY(sync_directories(dirs_to_sync));
  } else if (::syncfs(root_fd.get()) != 0) {
    return storage_error("cannot write", root, errno);
  }

  for (const FileExtent& extent : after) {
    m_known_sizes[extent.relative_path] = extent.size;
  }
  // The chunks stay for seal_batch() to reuse.
  m_sealed.leaves.clear();
  m_sealed.index.clear();
  m_is_sealed = false;
  return after;
}

Result<void> LeafFileWriter::rollback(const FileExtent& extent) {
  m_known_sizes.clear();
  const stdfs::path relative(extent.relative_path);
  const stdfs::path path = m_options.study_dir / relative;
  if (!is_plain_relative(relative) || relative.filename() != m_file_name) {
    return Error(Errc::storage,
                 "cannot roll back \"" + extent.relative_path + "\": not an " + m_file_name
                     + " file inside \"" + m_options.study_dir.string() + "\"");
  }

  // Beneath the study directory and through no link: truncating through a link planted at a
  // leaf path would damage a file outside the study.
  BDD_TRY_ASSIGN(fs::UniqueFd root_fd, open_study_directory(m_options.study_dir));
  fs::UniqueFd fd(fs::open_beneath(root_fd.get(), extent.relative_path, O_RDWR));
  // ENOTDIR: a folder on the way is a file now, so the leaf cannot exist.
  if (fd.get() < 0 && errno != ENOENT && errno != ENOTDIR) {
    return open_error("cannot roll back", path, errno);
  }
  const bool exists = fd.get() >= 0;
  struct stat info {};
  if (exists && ::fstat(fd.get(), &info) != 0) {
    return storage_error("cannot roll back", path, errno);
  }
  if (exists && !S_ISREG(info.st_mode)) {
    return Error(Errc::storage, "cannot roll back \"" + path.string() + "\": not a regular file");
  }
  const auto current = exists ? static_cast<std::uint64_t>(info.st_size) : 0;
  if (current < extent.size) {
    return Error(Errc::storage,
                 "cannot roll back \"" + path.string() + "\": it has " + std::to_string(current)
                     + " bytes, fewer than the " + std::to_string(extent.size)
                     + " recorded after the last commit (was it edited or cut short?)");
  }

  if (extent.size == 0) {
    // The commit created the file (and maybe its directories): remove what it made.
    if (exists) {
      static_cast<void>(fd.close());
    }
    return remove_created_file(root_fd.get(), m_options.study_dir, relative);
  }

  const std::string_view tail = file_tail();
  if (extent.size < tail.size()) {
    return Error(Errc::storage,
                 "cannot roll back \"" + path.string() + "\" to " + std::to_string(extent.size)
                     + " bytes: too short for a complete file");
  }
  if (!exists) {
    return storage_error("cannot open", path, ENOENT);
  }
  // After a crash every recorded file is rolled back, and most are as their last commit left
  // them: leave those alone (no write, no sync) once their tail is checked.
  if (current == extent.size) {
    BDD_TRY_ASSIGN(auto ending,
                   pread_exact(fd.get(), extent.size - tail.size(), tail.size(), path));
    if (ending == tail) {
      return ok();
    }
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(extent.size)) != 0) {
    return storage_error("cannot truncate", path, errno);
  }
  // The interrupted commit overwrote the tail that lay inside the old size.
  BDD_TRY(pwrite_all(fd.get(), extent.size - tail.size(), {tail}, path));
  if (::fdatasync(fd.get()) != 0 || !fd.close()) {
    return storage_error("cannot write", path, errno);
  }
  return ok();
}

Result<void> LeafFileWriter::close() {
  m_closed = true;
  m_known_sizes.clear();
  m_pending = Batch();
  m_sealed = Batch();
  m_is_sealed = false;
  return ok();
}

} // namespace bdd::storage
