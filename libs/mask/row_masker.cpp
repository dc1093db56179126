#include "row_masker.hpp"

#include <stdexcept>

#include "copy_text.hpp"

namespace pixrep::mask {

RowMasker::RowMasker(const Keys& keys, const TableRules& rules, const std::vector<std::string>& columns,
                     const std::map<std::string, std::string>& types)
    : masker_(keys) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
        auto rule = rules.rule(columns[i]);
        // Validation has refused a column without a rule; here one would be masked to NULL rather than leak.
        const Transform t = rule ? rule->transform : Transform::null;
        if (t == Transform::keep) continue;
        auto type = types.find(columns[i]);
        masked_.push_back({i, columns[i], t, kind_of(type == types.end() ? "" : type->second)});
    }
}

std::string_view RowMasker::apply(std::string_view row) {
    if (masked_.empty()) return row;
    out_.clear();
    std::size_t start = 0, index = 0;
    auto next = masked_.begin();
    while (true) {
        const auto tab = row.find('\t', start);
        const std::string_view field = row.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
        if (index > 0) out_ += '\t';
        if (next != masked_.end() && next->index == index) {
            if (field == "\\N") {
                out_ += field;
            } else {
                std::optional<std::string> v;
                try {
                    v = masker_.apply(next->transform, next->kind, common::unescape_field(field));
                } catch (const std::invalid_argument& e) {
                    throw std::invalid_argument("column " + next->name + ": " + e.what());  // never the value
                }
                out_ += v ? common::escape_field(*v) : std::string("\\N");
                ++next->values;
            }
            ++next;
        } else {
            out_ += field;
        }
        if (tab == std::string_view::npos) break;
        start = tab + 1, ++index;
    }
    if (next != masked_.end()) throw std::invalid_argument("a row has fewer columns than its COPY names");
    return out_;
}

std::map<std::string, std::int64_t> RowMasker::counts() const {
    std::map<std::string, std::int64_t> out;
    for (const auto& c : masked_) out[c.name] = c.values;
    return out;
}

}  // namespace pixrep::mask
