#include "app/status_page.hpp"

namespace lg::app {

const std::string& status_page_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lettagate</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>lettagate</h1><p>See <a href="/status">/status</a>, <a href="/readyz">/readyz</a>,
<a href="/metrics">/metrics</a>.</p></body></html>
)HTML";
  return page;
}

}  // namespace lg::app
