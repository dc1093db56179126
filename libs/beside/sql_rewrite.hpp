#pragma once
// Rewrites pg_dump's SQL so that tonight's copy is built in schemas of the tool's own: every
// reference to an object the backup creates tonight is qualified by its build schema, and
// nothing else changes. pg_dump qualifies every name (it restores under search_path = ''), so
// a tokenizer that knows SQL's strings, quoted names, comments and dollar quotes is enough.
// Pure.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pixrep/plan.hpp>

namespace pixrep::beside {

/// What tonight's build renames.
struct BuildNames {
    std::map<std::string, std::string> schemas;               ///< Backup schema -> its build schema.
    std::set<std::pair<std::string, std::string>> objects;    ///< (schema, name) of what is built there.
    std::set<std::pair<std::string, std::string>> kept;       ///< (schema, name) of what stays on the target as it is.

    /// The build schema of `schema`, or `schema` itself when nothing of it is rebuilt.
    std::string schema_of(const std::string& schema) const;
    /// True when (schema, name) is built tonight in the build schema.
    bool built(const std::string& schema, const std::string& name) const { return objects.count({schema, name}) > 0; }
    /// Takes what a step's own `sql` creates in a built schema (created_names()) as built tonight too.
    void add_created(std::string_view sql);
};

/// The names `plan` builds tonight: every entry it creates (not kept, not excluded) that names
/// an object of a schema, mapped to `build_schema(schema)`.
BuildNames build_names(const RestorePlan& plan, const std::function<std::string(const std::string&)>& build_schema);

/// `sql` with each reference to an object of `names` qualified by its build schema instead:
/// names (`public.users`, `"my schema"."My Table"`, operators: `OPERATOR(public.=@=)`), and
/// string literals read as such a name (`'public.users_id_seq'::regclass`, nextval's and
/// setval's argument), never a literal that is only text. Dollar-quoted bodies are left alone:
/// they are text, run under the live names once swapped in.
std::string rewrite_for_build(std::string_view sql, const BuildNames& names);

/// The schema-qualified names `sql` creates (`CREATE VIEW public.students ...`), as
/// (schema, name): a step's own SQL makes them where it says, in tonight's copy.
std::vector<std::pair<std::string, std::string>> created_names(std::string_view sql);

/// The SET search_path for the steps' own SQL while building (post-sql's statements, their
/// unqualified names): public's build schema, then public.
std::string build_search_path(const BuildNames& names);


}  // namespace pixrep::beside
