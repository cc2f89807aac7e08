#pragma once
// The value parsers of settings: text in, a value or an error message out (never throwing, no
// side effects). An error message may quote the value: config.cpp redacts it once for every
// setting before it is shown.
#include <optional>
#include <string>
#include <vector>

#include "config/url.hpp"
#include "core/host_port.hpp"

namespace lg::config {

// An empty value or `off` turns a component or the forwarder off.
bool is_off(const std::string& v);

// 1/true/yes/on and 0/false/no/off, in any case.
std::optional<bool> parse_bool(std::string v);

// Decimal digits only (no sign), at most ten, within [lo, hi].
std::optional<long> parse_int(const std::string& v, long lo, long hi);

// Comma-separated items, trimmed of spaces and tabs; empty items dropped.
std::vector<std::string> split_list(const std::string& v);

// Each returns an error message, or nullopt after storing the value in `out`.
// An http:// URL (port 80 when none), or off (enabled = false). Credentials are refused.
std::optional<std::string> parse_http_url(const std::string& v, Url& out, bool& enabled);
// A URL must carry no user or password: lettagate sends none from a URL.
std::optional<std::string> refuse_credentials(const Url& u);
// GET, HEAD, POST, PUT or OPTIONS.
std::optional<std::string> parse_method(const std::string& v, std::string& out);
// A path starting with '/'.
std::optional<std::string> parse_path(const std::string& v, std::string& out);
// A percentage from 0 to 50, as a fraction: "10" -> 0.10.
std::optional<std::string> parse_jitter(const std::string& v, double& out);

// A listen address must be an IP literal: a name would only fail when it is bound.
std::optional<std::string> require_ip(const core::HostPort& hp, const std::string& what);

// Whether two listen addresses cannot both be bound; `dual_stack`: a [::] that takes IPv4 too.
bool listens_overlap(const core::HostPort& a, bool a_dual_stack, const core::HostPort& b, bool b_dual_stack);

}  // namespace lg::config
