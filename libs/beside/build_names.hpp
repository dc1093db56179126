#pragma once
// Names of the schemas of the tool's own in which tonight's copy is built beside the live one,
// and where yesterday's goes at the swap; derived from the home schema, so every part of the
// tool (and the next run, cleaning up) finds them. Pure.
#include <cstddef>
#include <string>

namespace pixrep::beside {

/// The longest home schema name: its build and previous schemas' prefixes must stay whole.
constexpr std::size_t kMaxHome = 40;

/// The schema where the backup's schema `schema` is built tonight: "<home>_build_<schema>",
/// shortened with a hash of `schema` past PostgreSQL's 63 bytes.
std::string build_schema_name(const std::string& home, const std::string& schema);

/// Where yesterday's objects of `schema` go at the swap (kept there until the next run with
/// KEEP_PREVIOUS): "<home>_prev_<schema>", shortened the same way.
std::string previous_schema_name(const std::string& home, const std::string& schema);

/// The LIKE pattern matching every build schema of `home` (for the clean-up of an unfinished build).
std::string build_schema_pattern(const std::string& home);

/// The LIKE pattern matching every previous-copy schema of `home`.
std::string previous_schema_pattern(const std::string& home);

/// True when a schema named `name` would be taken for one of the tool's own (home, build, previous).
bool is_tool_schema(const std::string& home, const std::string& name);

/// The comment a step puts on an index it makes beyond the backup's (post-sql's), naming the
/// statement by its `digest`: on a kept table, an index so marked is the step's, kept with the
/// table and made again only when the statement changed.
std::string step_index_comment(const std::string& step, const std::string& digest);

/// True when `comment` is one step_index_comment() wrote.
bool is_step_index_comment(const std::string& comment);

}  // namespace pixrep::beside
