#pragma once
// One redaction for every message that may quote what a user gave: a configuration error, a
// libpq message about a connection string, a probe's failure reason. The passwords are found in
// the input itself, by text alone (the input may be malformed: that is when messages quote it),
// and blanked wherever the message repeats them, whole, percent-decoded or, for configuration
// errors, in pieces (libpq quotes single tokens: 'missing "=" after "secret"').
#include <string>
#include <string_view>
#include <vector>

namespace lg::config {

// What in `input` may be a password: a URL's userinfo password (the narrow reading up to the
// authority's last '@', and the wide one up to the input's last '@', since an unencoded '/' in
// a password ends the authority early), a port that is not a number in a URL without '@'
// (redis://:PASSWORD), query and key=value `password` values (quoted, unquoted, unterminated, and
// unquoted up to the next keyword, since an unquoted space splits a password) and `user:pass@`
// without a scheme (a forward target). Each as written and percent-decoded.
std::vector<std::string> password_candidates(std::string_view input);

struct RedactOptions {
  bool whole_input_secret = false;  // a token or password setting: all of the input is secret
  bool pieces = false;              // also blank the parts of a password between delimiters
  // Words never blanked: a password "letta" for user "letta" and database "letta" would blank the
  // names every reason shows, and reveals nothing.
  std::vector<std::string> public_words;
};

// `message` with the input replaced by its redact_dsn() form where it is quoted whole, and every
// password candidate of three characters or more replaced by "***".
std::string redact_message(std::string message, std::string_view input, const RedactOptions& opts = {});

}  // namespace lg::config
