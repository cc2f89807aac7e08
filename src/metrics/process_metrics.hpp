#pragma once
// The standard process_* metrics (as the Prometheus client libraries export them) and
// lettagate_build_info, read from /proc at each scrape.
#include "metrics/registry.hpp"

namespace lg::metrics {

void register_process_metrics(Registry& registry);
void register_build_info(Registry& registry);

}  // namespace lg::metrics
