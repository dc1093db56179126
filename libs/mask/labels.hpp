#pragma once
// PostgreSQL Anonymizer's labels as rules (MASKING_FROM_LABELS): a source using Anonymizer
// declares its masking as `SECURITY LABEL FOR anon ON COLUMN t.c IS 'MASKED WITH FUNCTION
// anon.fake_email()'`, which pg_dump carries in the backup. A label whose function has a
// transform here becomes that column's rule; one that has none is a problem to refuse, never a
// column left in clear. Parsed with libpg_query, PostgreSQL's own parser. Pure.
#include <optional>
#include <string>
#include <vector>

#include <pixrep/plan.hpp>

#include "rules.hpp"

namespace pixrep::mask {

/// A column's Anonymizer label.
struct ColumnLabel {
    std::string table, column;  ///< "schema.table", and the column as the table spells it.
    std::string text;           ///< The label: "MASKED WITH FUNCTION anon.fake_email()".
};

/// The SECURITY LABEL FOR anon on columns among `e`'s statements (pg_dump writes an object's
/// labels, its columns' included, in one entry); none for anything else (another provider, a
/// role's or a table's label).
std::vector<ColumnLabel> column_labels(const TocEntry& e);

/// The transform doing here what `label` asks of Anonymizer (anon.fake_email or pseudo_email:
/// email; fake/pseudo first and last names; anon.hash or digest: hash; date_trunc('month'|'year'):
/// year_month, year; MASKED WITH VALUE NULL: null); nullopt when none does.
std::optional<Transform> transform_of(const std::string& label);

/// `file` (nullopt: no rules file) with the labels of `plan` added for tonight's `tables`: a
/// labelled column takes its label's transform unless the file names it; a table the file has no
/// section for keeps what no label names (without a file, every table: as Anonymizer), and its
/// columns referencing a masked key still inherit. A label no transform does here is added to
/// `problems`, unless the file names its column.
Rules with_labels(const std::optional<Rules>& file, const RestorePlan& plan, const std::vector<TableFacts>& tables,
                  std::vector<std::string>& problems);

}  // namespace pixrep::mask
