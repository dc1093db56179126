#pragma once
// The page people open to see how fresh the replica is: the last run's outcome, the recent
// runs, and a chart of where each night's time went. Server-side HTML and SVG, no JavaScript,
// no external resource. Pure.
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

namespace pixrep {

/// The page for `runs` (newest first, as read_history() returns them) and the runs asked for
/// (`requests`, newest first), seen at `now`.
std::string render_status_page(const nlohmann::json& runs, std::time_t now, const nlohmann::json& requests = nlohmann::json::array());

/// The page for anyone without a token: the public facts (web.hpp's public_facts()) seen at
/// `now`, and, when `can_log_in`, a form to log in with a token, after `message` ("" = none).
std::string render_public_page(const nlohmann::json& facts, std::time_t now, bool can_log_in, const std::string& message);

/// Escapes text for HTML.
std::string html_escape(const std::string& text);

}  // namespace pixrep
