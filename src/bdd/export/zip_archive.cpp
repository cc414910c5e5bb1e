#include "zip_archive.hpp"

#include <bdd/core/clock.hpp>
#include <bdd/core/fs.hpp>
#include <bdd/core/redact.hpp>
#include <bdd/tracking/manifest.hpp>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <limits>
#include <system_error>

namespace bdd::exporting {

namespace {

using ordered_json = nlohmann::ordered_json;

// Closes (discarding) an archive that was not written, and removes the file unless disarmed.
struct PartialZip {
  zip_t* archive = nullptr;
  std::filesystem::path path;
  ~PartialZip() {
    if (archive != nullptr) {
      zip_discard(archive);
    }
    if (!path.empty()) {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  }
};

std::string zip_message(zip_t* archive) {
  return zip_strerror(archive);
}

Result<void> add_entry(zip_t* archive,
                       const std::string& name,
                       zip_source_t* source,
                       std::time_t mtime,
                       const std::filesystem::path& zip_path) {
  if (source == nullptr) {
    return Error(Errc::storage,
                 "cannot add \"" + name + "\" to \"" + zip_path.string()
                     + "\": " + zip_message(archive));
  }
  const zip_int64_t index = zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8);
  if (index < 0) {
    zip_source_free(source);
    return Error(Errc::storage,
                 "cannot add \"" + name + "\" to \"" + zip_path.string()
                     + "\": " + zip_message(archive));
  }
  const auto entry = static_cast<zip_uint64_t>(index);
  if (zip_set_file_compression(archive, entry, ZIP_CM_DEFLATE, 0) != 0
      || zip_file_set_mtime(archive, entry, mtime, 0) != 0) {
    return Error(Errc::storage,
                 "cannot add \"" + name + "\" to \"" + zip_path.string()
                     + "\": " + zip_message(archive));
  }
  return ok();
}

Result<void> sync_file(const std::filesystem::path& path) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    return Error(Errc::storage, fs::describe_errno("cannot write", path, errno));
  }
  return ok();
}

} // namespace

std::string public_base_url(std::string_view url) {
  const std::string clean = redact_known_secrets(url);
  return clean.substr(0, clean.find_first_of("?#"));
}

std::string manifest_json(const Manifest& manifest, const std::vector<ManifestFile>& files) {
  ordered_json out;
  out["manifest_version"] = 1;
  out["bdd_version"] = manifest.bdd_version;
  out["study"] = manifest.study;
  out["api_base_url"] = public_base_url(manifest.api_base_url);
  out["exported_at"] = format_utc(manifest.exported_at);
  // Text the caller made with nlohmann; anything else is recorded as a string.
  for (const auto& [key, text] :
       {std::pair<const char*, const std::string&>{"filters", manifest.filters},
        {"options", manifest.options}}) {
    out[key] = ordered_json::parse(text, nullptr, false);
    if (out[key].is_discarded()) {
      out[key] = text;
    }
  }
  ordered_json local;
  local["events_stored"] = manifest.events_stored;
  local["remote_total"] =
      manifest.remote_total ? ordered_json(*manifest.remote_total) : ordered_json(nullptr);
  local["last_download"] = manifest.last_download;
  out["local_copy"] = std::move(local);
  ordered_json list = ordered_json::array();
  for (const ManifestFile& file : files) {
    list.push_back(ordered_json{
        {"name", file.name}, {"rows", file.rows}, {"bytes", file.bytes}, {"sha256", file.sha256}});
  }
  out["files"] = std::move(list);
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<void> write_export_zip(const std::filesystem::path& path,
                              const Manifest& manifest,
                              const std::vector<ZipInput>& inputs) {
  std::vector<ManifestFile> files;
  for (const ZipInput& input : inputs) {
    if (input.name.empty() || input.name.find('/') != std::string::npos
        || input.name == k_manifest_name) {
      return Error(Errc::internal, "cannot put \"" + input.name + "\" in an export zip");
    }
    BDD_TRY_ASSIGN(
        std::string hash,
        tracking::hash_file_prefix(input.source, std::numeric_limits<std::uint64_t>::max()));
    files.push_back({input.name, input.rows, fs::file_size_or_zero(input.source), hash});
  }
  const std::string text = manifest_json(manifest, files);
  const std::time_t mtime = std::chrono::system_clock::to_time_t(manifest.exported_at);

  PartialZip partial;
  partial.path = path;
  int error = 0;
  partial.archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (partial.archive == nullptr) {
    zip_error_t details;
    zip_error_init_with_code(&details, error);
    std::string message = zip_error_strerror(&details);
    zip_error_fini(&details);
    return Error(Errc::storage, "cannot create \"" + path.string() + "\": " + message);
  }
  for (const ZipInput& input : inputs) {
    BDD_TRY(add_entry(partial.archive,
                      input.name,
                      zip_source_file(partial.archive, input.source.c_str(), 0, -1),
                      mtime,
                      path));
  }
  BDD_TRY(add_entry(partial.archive,
                    std::string(k_manifest_name),
                    zip_source_buffer(partial.archive, text.data(), text.size(), 0),
                    mtime,
                    path));
  if (zip_close(partial.archive) != 0) {
    return Error(Errc::storage,
                 "cannot write \"" + path.string() + "\": " + zip_message(partial.archive));
  }
  partial.archive = nullptr;
  BDD_TRY(sync_file(path));
  partial.path.clear();
  return ok();
}

} // namespace bdd::exporting
