#pragma once

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace bdd::ops {

// `bdd download --repair`, before the download: rebuild the state of the study in `study_dir`
// (stored in `config.format`) from what its data files really hold, so that a full scan from
// offset 0 adds exactly what is missing. The caller holds the study's lock.
//
// Each file that matches the last commit's size and SHA-256 is kept (bytes appended after it
// are cut off); a file that is shorter, was never recorded, or holds a duplicate is rewritten
// with its complete, first-seen events; a file whose committed bytes changed (edited, bit rot)
// or that cannot be read at all is set aside, and its events are downloaded again. Nothing is
// deleted: every original that is changed or set aside is kept as
// `.bdd/quarantine/<UTC time>/<relative path>.orig`. Returns one line per file repaired, for the
// user.
Result<std::vector<std::string>> repair_study(const config::Config& config,
                                              const std::filesystem::path& study_dir);

} // namespace bdd::ops
