#pragma once
// The one table of the kinds of objects pg_dump emits: how SQL names each (for ALTER and DROP),
// which names it shares a namespace with, where tonight's build makes it, and how the catalog
// lists what the target holds of it. The rewriting of the build's SQL, the build plan, the swap
// and the drop all read this table, so that a kind the build makes beside is also one the swap
// moves and the drop removes. Pure.
#include <string>
#include <string_view>
#include <vector>

namespace pixrep::beside {

/// Where tonight's build makes an object of a kind, and what the swap does with it.
enum class Placement {
    moved,     ///< In the build schema; moved into the live schema at the swap (ALTER ... SET SCHEMA).
    attached,  ///< Part of a table or type (index, constraint, trigger, policy, default...): built and moved with it.
    database,  ///< A name of the whole database (publication, event trigger): made after the swap, replacing yesterday's.
    target,    ///< The target's own (extension, schema): made where missing, never moved, nor dropped by a build beside.
    none,      ///< Nothing is restored of it (ownership, privileges, the dump's settings), or the build makes it itself.
};

/// How the catalog lists the objects of a kind; an empty `catalog` when it is not listed.
struct Listing {
    std::string_view catalog;    ///< The system catalog, e.g. "pg_class".
    std::string_view namespace_; ///< Its column naming the object's schema ("" for a schema itself).
    std::string_view name;       ///< The object's name, as an expression over `x`.
    std::string_view args;       ///< What identifies it beyond its name (a routine's arguments, an operator's operand types, an index method), or "''".
    std::string_view owner;      ///< Its column naming the owner.
    std::string_view where;      ///< Which of the catalog's rows are of this kind.
};

/// One kind of object.
struct ObjectKind {
    std::string_view desc;      ///< pg_dump's name for it in the table of contents ("TEXT SEARCH CONFIGURATION").
    std::string_view sql;       ///< As ALTER ... SET SCHEMA and DROP name it ("ROUTINE" for functions and procedures).
    std::string_view family;    ///< Kinds whose names share one namespace in a schema ("relation", "routine"...); "" when none.
    Placement placement;        ///< Where the build makes it.
    Listing listing;            ///< How the catalog lists it.
};

/// Every kind, in the order a drop goes (what depends on others first).
const std::vector<ObjectKind>& object_kinds();

/// The kind pg_dump calls `desc`, or nullptr for one the table does not know.
const ObjectKind* object_kind(std::string_view desc);

/// True when an entry of kind `desc` names an object of its schema that other SQL refers to as
/// schema.name, and the build makes it in the build schema.
bool built_beside(std::string_view desc);

/// The query listing the objects of every listed kind, columns: o (the kind's rank in the
/// table), kind, nspname, name, args, owner_oid, member (an extension's member).
std::string catalog_objects_sql();

/// The object as ALTER and DROP name it: "s.n", "s.f(integer)", "s.=@= (text, text)",
/// "s.n USING btree", a schema's own name.
std::string object_reference(std::string_view kind, const std::string& schema, const std::string& name, const std::string& args);

/// ALTER <kind> <object> SET SCHEMA `to`.
std::string set_schema_statement(std::string_view kind, const std::string& schema, const std::string& name, const std::string& args,
                                 const std::string& to);

/// DROP <kind> IF EXISTS <object> CASCADE.
std::string drop_statement(std::string_view kind, const std::string& schema, const std::string& name, const std::string& args);

}  // namespace pixrep::beside
