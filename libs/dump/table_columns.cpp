#include "table_columns.hpp"

#include <sstream>

namespace pixrep::common {
namespace {

std::string trim(std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t,") + 1);
    return s;
}

// The name at the start of `col`, as written (quoted or not); `end` is set past it.
std::string written_name(const std::string& col, std::size_t& end) {
    if (col.empty() || col[0] != '"') {
        end = col.find(' ');
        return col.substr(0, end);
    }
    end = 1;
    while (end < col.size() && !(col[end] == '"' && (end + 1 >= col.size() || col[end + 1] != '"'))) end += col[end] == '"' ? 2 : 1;
    return col.substr(0, ++end);
}

std::string unquoted(const std::string& name) {
    if (name.size() < 2 || name[0] != '"') return name;
    std::string out;
    for (std::size_t i = 1; i + 1 < name.size(); ++i) {
        out += name[i];
        if (name[i] == '"') ++i;  // "" inside quotes is one "
    }
    return out;
}

}  // namespace

std::vector<TableColumn> table_columns(const std::string& sql) {
    std::vector<TableColumn> out;
    std::istringstream in(sql);
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        if (!inside) {
            inside = line.rfind("CREATE ", 0) == 0 && !line.empty() && line.back() == '(';
            continue;
        }
        if (line.rfind(")", 0) == 0) break;
        const std::string col = trim(line);
        if (col.empty() || col.rfind("CONSTRAINT ", 0) == 0) continue;
        std::size_t end = 0;
        TableColumn c;
        c.quoted = written_name(col, end);
        if (end == std::string::npos || end >= col.size()) continue;
        c.name = unquoted(c.quoted);
        std::string rest = col.substr(end + 1);
        c.not_null = rest.find(" NOT NULL") != std::string::npos || rest.rfind("NOT NULL", 0) == 0;
        for (const char* cut : {" NOT NULL", " DEFAULT ", " COLLATE ", " GENERATED ", " CONSTRAINT ", " CHECK ", " NULL"}) {
            auto p = rest.find(cut);
            if (p != std::string::npos) rest.erase(p);
        }
        c.type = trim(rest);
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace pixrep::common
