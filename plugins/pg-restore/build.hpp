#pragma once
// Builds tonight's copy beside the live one: the build schemas and the entries before the data
// on one connection, then every table's rows streamed with COPY, `jobs` at a time, biggest
// first: out of the dump (in archive order while the dump arrives, each once its block is
// there), or out of a live source, whose biggest tables come in key ranges loaded side by side.
// The pool is told as each table is loaded whole.
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pixrep/step.hpp>

#include "beside.hpp"
#include "copy_in.hpp"

namespace pixrep::restore {

using beside::BuildPlan;
using beside::kDumpSearchPath;
using beside::Load;
using beside::Statement;

/// Makes the build schemas afresh, then runs the statements before the data and the sequences'
/// values, in order. `settings` are SET first. Throws StepError naming the entry that failed.
void build_schema(RunContext& ctx, const beside::BuildNames& names, const BuildPlan& plan, const std::vector<std::string>& settings);

/// Drops the build schemas of `names`, where the target lets it; says what it could not.
void drop_build_schemas(RunContext& ctx, const beside::BuildNames& names);

class Loader {
public:
    /// Starts `jobs` connections loading `loads` at once; `loaded(table)` is called as each is committed.
    Loader(RunContext& ctx, std::vector<Load> loads, std::vector<std::string> settings, int jobs,
           std::function<void(const std::string&)> loaded);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    /// Stops: what is being copied is rolled back.
    void abandon();
    /// Waits for every table, logging progress and, every `heartbeat`, what is loading; throws
    /// StepError with the first failure.
    void wait(std::chrono::milliseconds heartbeat);
    /// Rows loaded so far.
    std::int64_t rows();

private:
    /// A table's rows, or the part of them a live source gives for `where`.
    struct Piece {
        std::size_t load;
        std::string where;
    };
    void worker();
    TocEntry arrived(const Load& l);
    void load(const Piece& p, const TocEntry& entry, common::CopyIn& in);
    bool quitting();

    RunContext& ctx_;
    std::vector<Load> loads_;
    std::vector<Piece> pieces_;
    std::vector<int> pieces_left_;  ///< By load.
    std::vector<std::string> settings_;
    std::function<void(const std::string&)> loaded_;
    std::mutex mu_;
    std::size_t next_ = 0, done_ = 0;
    std::int64_t rows_ = 0;
    bool abandoned_ = false;
    std::optional<StepError> failure_;
    std::vector<common::CopyIn*> active_;
    std::vector<std::string> running_;
    std::vector<std::thread> threads_;
};

}  // namespace pixrep::restore
