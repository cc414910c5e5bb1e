#include "events.hpp"

#include "study_paths.hpp"

#include <bdd/export/stream.hpp>

namespace bdd::ops {

Result<void> read_events(const config::Config& config,
                         LocalCopy copy,
                         const EventReadOptions& options,
                         const std::function<Result<void>(const model::Event&)>& visit) {
  exporting::StreamOptions stream_options;
  stream_options.study_dir = study_paths(config).study_dir;
  stream_options.study_name = config.study_name;
  stream_options.format = copy.metadata.format;
  stream_options.inputs = std::move(copy.inputs);
  stream_options.filter = options.filter;
  stream_options.temp_parent = options.temp_parent;
  stream_options.stop = options.stop;
  exporting::EventStream stream(std::move(stream_options));
  return stream.for_each(visit);
}

} // namespace bdd::ops
