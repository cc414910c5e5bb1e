#pragma once

#include <bdd/config/config.hpp>
#include <bdd/core/result.hpp>
#include <bdd/tracking/state.hpp>

#include <filesystem>

namespace bdd::ops {

// Before a download writes anything: check that the state in `<study_dir>/.bdd/` describes the
// data files beside it, so that a lost, replaced or older state never makes bdd download events
// it already stored into the same files a second time. Refuses (Errc::storage, a one-line
// message that says to run `bdd download <study> --repair`) when:
//  - `.metadata.json` counts more stored events than the state does (the state is missing,
//    restored from an older backup, or was never written);
//  - a text format: the study folder holds an `events.<format>` file (any of the formats) that
//    the state neither records nor journals, or a symbolic link anywhere outside its hidden
//    folders (bdd follows no links inside a study);
//  - sqlite: `events.sqlite` holds rows while the state records no event, or holds
//    fewer rows than the state records ids (rows deleted by hand). More rows than ids with a
//    non-empty state is what a crash between the database's commit and the state's leaves; the
//    run then re-inserts them, which the database ignores (ids are its key).
// A database that is a link or cannot be read is left to the writer, which refuses it when it
// opens it. Files longer or shorter than recorded are left to the checks that follow (rollback
// after a crash, then the size check of every recorded file).
//
// The walk of the study tree that finds unrecorded files and links (text formats) runs only
// when the state records no event, when `.metadata.json` is missing or counts other than the
// state (a state lost, restored or crashed between the two), and otherwise once a day (the
// state keeps when: `State::tree_checked_at`). Between walks, each recorded file and every
// folder on its path is checked to be no link (lstat), and the paths bdd writes stay safe on
// their own: a new leaf file is created with O_EXCL (a file someone put there makes the commit
// fail rather than be appended to), and every open goes through `fs::open_beneath`, which
// refuses a link in any component. What a skipped walk leaves unseen until the next is a
// foreign file or link at a path this run does not write, which it therefore cannot harm.
//
// Cost: one read of `.metadata.json`, the state's file list and an lstat per recorded file
// and folder; with the walk, one readdir per folder of the study and one state write; for
// sqlite an O(1) read of the database's row count.
Result<void> check_state_describes_files(const config::Config& config,
                                         const std::filesystem::path& study_dir,
                                         tracking::State& state);

} // namespace bdd::ops
