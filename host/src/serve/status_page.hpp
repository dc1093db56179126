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

/// Escapes text for HTML.
std::string html_escape(const std::string& text);

}  // namespace pixrep
