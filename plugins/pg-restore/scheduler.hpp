#pragma once
// When each piece of deferred work may start: once its table's data is loaded (or the whole
// restore is over), once the deferred work it waits for is done, and never when it would close
// a cycle of foreign keys being added: a key locks its table, then the one it references, so
// two keys between a pair of tables (a store and its manager, the staff member and her store)
// added at once deadlock. Keys that merely share a table wait for each other's locks and go on.
// Pure, not thread-safe: the pool calls it under its lock.
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <pixrep/context.hpp>

namespace pixrep::restore {

/// When `sql` is an ALTER TABLE adding a foreign key: its table and the one it references, as
/// written, in the order the key locks them.
std::optional<std::pair<std::string, std::string>> foreign_key_tables(const std::string& sql);

class Scheduler {
public:
    explicit Scheduler(std::vector<Deferred> work);

    /// The data of `table` ("schema.table") is loaded.
    void table_loaded(const std::string& table);
    /// pg_restore is done: everything it restores exists.
    void restore_over();
    /// The next piece of work that may start, marked as started; nullopt when none may now.
    std::optional<std::size_t> take();
    /// Work `i` is done.
    void done(std::size_t i);

    const Deferred& work(std::size_t i) const { return work_[i]; }
    /// True while pg_restore runs.
    bool restoring() const { return !restore_over_; }
    /// Pieces not started yet.
    std::size_t waiting() const { return work_.size() - started_; }
    /// Pieces not done yet.
    std::size_t pending() const { return work_.size() - done_count_; }

private:
    bool ready(std::size_t i) const;
    bool clashes(std::size_t i) const;
    using Edge = std::pair<std::string, std::string>;
    std::vector<std::optional<Edge>> keys_;  ///< By work: the foreign key it adds, from its table to the one it references.
    std::multiset<Edge> adding_;             ///< Keys being added.
    std::vector<Deferred> work_;
    std::vector<bool> taken_, done_;
    std::set<DumpId> created_by_work_, created_;
    std::set<std::string> loaded_;
    bool restore_over_ = false;
    std::size_t started_ = 0, done_count_ = 0;
};

}  // namespace pixrep::restore
