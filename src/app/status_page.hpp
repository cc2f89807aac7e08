#pragma once
#include <string>

namespace lg::app {

// The self-contained HTML status page served at "/": it reads /status and redraws itself.
const std::string& status_page_html();

}  // namespace lg::app
