#pragma once
// What the backup says of the tables the rules must cover: columns and types from pg_dump's
// CREATE TABLE, unique columns from its constraints and unique indexes. Pure.
#include <string>
#include <vector>

#include <pixrep/plan.hpp>

#include "rules.hpp"

namespace pixrep::mask {

/// The columns of a CREATE TABLE as pg_dump writes it, with their types and NOT NULL.
std::vector<ColumnFacts> columns_of(const std::string& create_table);
/// The columns `sql` (an ADD CONSTRAINT ... PRIMARY KEY/UNIQUE, or a CREATE UNIQUE INDEX) makes
/// unique, alone or with others; empty for anything else.
std::vector<std::string> unique_columns(const std::string& sql);
/// Every table whose rows go to the target tonight (restored, or kept with rows appended), with
/// its columns, from `plan`.
std::vector<TableFacts> tables_tonight(const RestorePlan& plan);

}  // namespace pixrep::mask
