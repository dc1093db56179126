#pragma once
// Masks the rows of one table as they stream to the target's COPY: each field of a masked
// column is unescaped, transformed and escaped again; the other fields go as they are.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rules.hpp"
#include "transforms.hpp"

namespace pixrep::mask {

class RowMasker {
public:
    /// For a table whose COPY names `columns` (types by column name, as pg_dump writes them),
    /// masked as `rules` say. One per stream: it is not shared between threads.
    RowMasker(const Keys& keys, const TableRules& rules, const std::vector<std::string>& columns, const std::map<std::string, std::string>& types);
    /// True when some column is masked; else rows can go as they are.
    bool masks() const { return !masked_.empty(); }
    /// `row` (COPY text, no newline) masked; the view lives until the next call. Throws
    /// std::invalid_argument naming the column when a value cannot be read as its type.
    std::string_view apply(std::string_view row);
    /// Values masked so far, by column (NULLs are not counted).
    std::map<std::string, std::int64_t> counts() const;

private:
    struct Column {
        std::size_t index;
        std::string name;
        Transform transform;
        Kind kind;
        std::int64_t values = 0;
    };
    Masker masker_;
    std::vector<Column> masked_;  ///< In the order of the COPY's columns.
    std::string out_;
};

}  // namespace pixrep::mask
