#pragma once
// BACKUP_MODE, as the original's later versions read it: a JSON object whose keys are tables
// ("answers" or "schema.table") and whose values are "incremental" or "none". Pure.
#include <string>
#include <vector>

namespace pixrep::answers {

enum class Mode { none, incremental };

/// One table's mode.
struct TableMode {
    std::string table;  ///< "schema.table".
    Mode mode;
};

/// Parses `json`. Throws StepError(config) naming BACKUP_MODE and what is wrong with it.
std::vector<TableMode> parse_backup_mode(const std::string& json);

/// "answers" -> "public.answers".
std::string qualified(const std::string& name);

}  // namespace pixrep::answers
