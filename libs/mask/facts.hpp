#pragma once
// What the backup says of the tables the rules must cover: columns and types from pg_dump's
// CREATE TABLE, unique columns from its constraints and unique indexes. Pure.
#include <optional>
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
/// `sql` (ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY (c) REFERENCES s.t(k)) of `table`, as a
/// ForeignKey; nullopt for anything else, or a key of several columns.
std::optional<ForeignKey> foreign_key(const std::string& table, const std::string& sql);
/// Every single-column foreign key of the backup, restored tonight or not.
std::vector<ForeignKey> foreign_keys(const RestorePlan& plan);

/// True when a column's name or type looks like personal data (e-mail, names, birth date,
/// phone, address, IP address, national student number...).
bool looks_personal(const ColumnFacts& c);
/// A rules file for `tables`: every column `keep`, those that look personal flagged in a comment
/// with the transforms that fit them; a team starts from it (`masking-template`).
std::string rules_template(const std::vector<TableFacts>& tables);

/// True for a PostgreSQL Anonymizer label (SECURITY LABEL FOR anon ...): a target without that
/// label provider refuses it.
bool anonymizer_label(const TocEntry& e);

/// Every table whose rows go to the target tonight (restored, or kept with rows appended), with
/// its columns, from `plan`.
std::vector<TableFacts> tables_tonight(const RestorePlan& plan);

}  // namespace pixrep::mask
