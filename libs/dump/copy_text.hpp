#pragma once
// PostgreSQL's COPY text format, as pg_restore prints a table's data: a header naming the
// columns, then one row per line, fields separated by tabs (escaped inside values). Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pixrep::common {

/// The columns of `COPY public.answers (id, "challengeId") FROM stdin;`, unquoted; empty when
/// the line is not such a header.
std::vector<std::string> copy_columns(const std::string& header);

/// Field `index` of a COPY text row (no unescaping), or nullopt when the row has fewer fields.
std::optional<std::string_view> copy_field(std::string_view row, std::size_t index);

/// An integer field, or nullopt (NULL as \N, or not an integer).
std::optional<std::int64_t> integer_field(std::string_view field);

/// A field's value, its backslash escapes undone (\\N is NULL: the caller tells it first).
std::string unescape_field(std::string_view field);
/// `value` escaped for a COPY text field.
std::string escape_field(std::string_view value);

}  // namespace pixrep::common
