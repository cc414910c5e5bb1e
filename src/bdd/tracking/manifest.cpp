#include "manifest.hpp"

#include <bdd/core/fs.hpp>
#include <bdd/core/sha256.hpp>

#include <cerrno>
#include <fstream>

namespace bdd::tracking {

namespace {

constexpr std::size_t k_chunk = 1 << 16;

// Feed bytes [from, to) of `in` to `hasher`.
Result<void> feed(std::ifstream& in,
                  const std::filesystem::path& path,
                  std::uint64_t from,
                  std::uint64_t to,
                  Sha256& hasher) {
  std::string buffer(k_chunk, '\0');
  in.seekg(static_cast<std::streamoff>(from));
  for (std::uint64_t left = to - from; left > 0;) {
    const auto want = static_cast<std::streamsize>(std::min<std::uint64_t>(left, k_chunk));
    in.read(buffer.data(), want);
    if (in.gcount() != want) {
      return Error(Errc::storage,
                   "cannot hash \"" + path.string() + "\": it is shorter than the "
                       + std::to_string(to) + " bytes committed");
    }
    hasher.update(std::string_view(buffer.data(), static_cast<std::size_t>(want)));
    left -= static_cast<std::uint64_t>(want);
  }
  return ok();
}

Result<std::ifstream> open_for_hashing(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(Errc::storage, fs::describe_errno("cannot hash", path, errno));
  }
  return in;
}

} // namespace

Result<FileHash> extend_file_hash(const std::filesystem::path& path,
                                  std::string_view previous_midstate,
                                  std::uint64_t size,
                                  std::uint64_t tail_size) {
  const std::uint64_t stable = size >= tail_size ? size - tail_size : 0;
  Sha256 hasher;
  if (!hasher.import_state(previous_midstate) || hasher.size() > stable) {
    hasher = Sha256();
  }
  BDD_TRY_ASSIGN(auto in, open_for_hashing(path));
  BDD_TRY(feed(in, path, hasher.size(), stable, hasher));
  FileHash out;
  out.midstate = hasher.export_state();
  BDD_TRY(feed(in, path, stable, size, hasher));
  out.sha256 = hasher.finish_hex();
  return out;
}

std::optional<FileHash> extend_hash_in_memory(std::string_view previous_midstate,
                                              std::uint64_t offset,
                                              const std::vector<std::string_view>& pieces,
                                              std::uint64_t tail_size) {
  Sha256 hasher;
  if (!previous_midstate.empty() && !hasher.import_state(previous_midstate)) {
    return std::nullopt;
  }
  if (hasher.size() != offset) {
    return std::nullopt;
  }
  std::uint64_t size = offset;
  for (std::string_view piece : pieces) {
    size += piece.size();
  }
  const std::uint64_t stable = size >= tail_size ? size - tail_size : 0;
  if (stable < offset) {
    return std::nullopt;
  }
  FileHash out;
  std::uint64_t position = offset;
  bool midstate_taken = false;
  for (std::string_view piece : pieces) {
    const std::uint64_t end = position + piece.size();
    if (!midstate_taken && end >= stable) {
      const auto before_tail = static_cast<std::size_t>(stable - position);
      hasher.update(piece.substr(0, before_tail));
      out.midstate = hasher.export_state();
      midstate_taken = true;
      hasher.update(piece.substr(before_tail));
    } else {
      hasher.update(piece);
    }
    position = end;
  }
  if (!midstate_taken) { // no pieces at all
    out.midstate = hasher.export_state();
  }
  out.sha256 = hasher.finish_hex();
  return out;
}

Result<std::string> hash_file_prefix(const std::filesystem::path& path, std::uint64_t size) {
  const std::uint64_t actual = fs::file_size_or_zero(path);
  BDD_TRY_ASSIGN(auto in, open_for_hashing(path));
  Sha256 hasher;
  BDD_TRY(feed(in, path, 0, std::min(size, actual), hasher));
  return hasher.finish_hex();
}

std::filesystem::path manifest_path(const std::filesystem::path& study_dir) {
  return study_dir / ".bdd" / "manifest.sha256";
}

Result<void> write_manifest(const std::filesystem::path& study_dir,
                            const std::vector<FileRecord>& files) {
  std::string text;
  for (const auto& file : files) {
    if (!file.sha256.empty()) {
      text += file.sha256 + "  " + file.path + "\n";
    }
  }
  // Unchanged (a run that stored nothing): no rewrite, no fsyncs. Read only when it has the
  // size it should have, so that what lies in the study folder is never read unbounded.
  const std::filesystem::path path = manifest_path(study_dir);
  if (fs::file_size_or_zero(path) == text.size() && !text.empty()) {
    if (auto existing = fs::read_file(path); existing && *existing == text) {
      return ok();
    }
  }
  return fs::write_file_atomic(path, text);
}

} // namespace bdd::tracking
