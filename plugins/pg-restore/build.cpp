#include "build.hpp"

#include <algorithm>

#include "db.hpp"
#include "entry_stream.hpp"
#include "pg_errors.hpp"
#include "row_filters.hpp"

namespace pixrep::restore {

using Clock = std::chrono::steady_clock;

namespace {

// pg_restore's own session settings, with the run's.
std::vector<std::string> session_sql(const std::vector<std::string>& settings) {
    std::vector<std::string> out{"SET client_min_messages = warning", "SET check_function_bodies = false",
                                 "SET standard_conforming_strings = on", "SET xmloption = content", "SET row_security = off",
                                 "SET client_encoding = 'UTF8'"};
    for (const auto& s : settings) out.push_back("SET " + s);
    return out;
}

void run_one(common::Session& s, const Statement& st) {
    try {
        s.run([&](common::Connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec(st.sql);
        });
    } catch (const StepError&) {
        throw;
    } catch (const std::exception& e) {
        throw StepError(common::exception_error_kind(e), "building tonight's copy: " + st.label + ": " + common::one_line(e.what()));
    }
}

}  // namespace

void build_schema(RunContext& ctx, const beside::BuildNames& names, const BuildPlan& plan, const std::vector<std::string>& settings) {
    const auto t0 = Clock::now();
    common::Session s(ctx.env(), "pg-restore build");
    for (const auto& sql : session_sql(settings)) run_one(s, {"session setting", sql});
    // An extension's schema is the target's: its extension is made there, in place, and stays.
    for (const auto& schema : plan.in_place_schemas)
        run_one(s, {"schema " + schema + " of an extension", "CREATE SCHEMA IF NOT EXISTS " + common::sql_name(schema)});
    for (const auto& [schema, build] : names.schemas) {
        run_one(s, {"build schema " + build, "DROP SCHEMA IF EXISTS " + common::sql_name(build) + " CASCADE"});
        run_one(s, {"build schema " + build, "CREATE SCHEMA " + common::sql_name(build)});
    }
    run_one(s, {"search_path", kDumpSearchPath});
    for (const auto& st : plan.schema) {
        if (ctx.env().stopping()) throw StepError(ErrorKind::fatal, "stopped while building tonight's copy");
        run_one(s, st);
    }
    for (const auto& st : plan.sequences) run_one(s, st);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    ctx.add_timing("SCHEMA", "entries before the data", t0, secs);
    ctx.log().info("tonight's schema built beside the live copy",
                   {{"statements", static_cast<std::int64_t>(plan.schema.size() + plan.sequences.size())},
                    {"schemas", static_cast<std::int64_t>(names.schemas.size())}, {"duration_ms", static_cast<std::int64_t>(secs * 1000)}});
}

void drop_build_schemas(RunContext& ctx, const beside::BuildNames& names) {
    try {
        common::Session s(ctx.env(), "pg-restore clean-up");
        for (const auto& [schema, build] : names.schemas)
            s.run([&](common::Connection& c) {
                pqxx::nontransaction tx(c);
                tx.exec("SET lock_timeout = '10s'");
                tx.exec("DROP SCHEMA IF EXISTS " + common::sql_name(build) + " CASCADE");
            });
        ctx.log().info("the unfinished build was removed; the live copy is as it was");
    } catch (const std::exception& e) {
        ctx.log().warn("the unfinished build could not be removed now (the next run removes it first): " + common::one_line(e.what()));
    }
}

Loader::Loader(RunContext& ctx, std::vector<Load> loads, std::vector<std::string> settings, int jobs,
               std::function<void(const std::string&)> loaded)
    : ctx_(ctx), loads_(std::move(loads)), settings_(session_sql(settings)), loaded_(std::move(loaded)) {
    pieces_left_.assign(loads_.size(), 0);
    for (std::size_t i = 0; i < loads_.size(); ++i) {
        std::vector<std::string> wheres{""};
        const TocEntry* entry = ctx_.plan().find(loads_[i].data);
        if (ctx_.live() && entry) wheres = ctx_.live()->split(*entry, std::max(1, jobs));
        for (auto& w : wheres) pieces_.push_back({i, std::move(w)});
        pieces_left_[i] = static_cast<int>(wheres.size());
    }
    // Biggest tables first, their pieces side by side: what sets the floor starts at once.
    const int n = std::min<int>(std::max(1, jobs), static_cast<int>(pieces_.size()));
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { worker(); });
}

Loader::~Loader() {
    abandon();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

void Loader::abandon() {
    std::lock_guard<std::mutex> lock(mu_);
    abandoned_ = true;
    for (auto* in : active_) in->cancel();
}

std::int64_t Loader::rows() {
    std::lock_guard<std::mutex> lock(mu_);
    return rows_;
}

bool Loader::quitting() { return abandoned_ || failure_ || ctx_.env().stopping(); }

void Loader::worker() {
    std::unique_ptr<common::CopyIn> in;
    for (;;) {
        const Piece* piece = nullptr;
        const Load* l = nullptr;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (quitting() || next_ >= pieces_.size()) return;
            piece = &pieces_[next_++];
            l = &loads_[piece->load];
            running_.push_back(l->table);
        }
        try {
            // Its block first, while the dump arrives; a connection left silent meanwhile for long
            // would be cut by Scalingo's proxy (30 min), so after a long wait it is made afresh.
            const auto waiting = Clock::now();
            const TocEntry entry = arrived(*l);
            if (Clock::now() - waiting > std::chrono::minutes(10)) in.reset();
            if (!in) {
                in = std::make_unique<common::CopyIn>(ctx_.env(), "pg-restore load");
                for (const auto& s : settings_) in->exec(s);
            }
            {
                std::lock_guard<std::mutex> lock(mu_);
                if (abandoned_) return;
                active_.push_back(in.get());
            }
            load(*piece, entry, *in);
        } catch (const StepError& e) {
            std::lock_guard<std::mutex> lock(mu_);
            if (!failure_ && !abandoned_) failure_ = StepError(e.kind(), "loading the rows of " + l->table + ": " + e.what());
        } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(mu_);
            if (!failure_ && !abandoned_)
                failure_ = StepError(common::exception_error_kind(e), "loading the rows of " + l->table + ": " + common::one_line(e.what()));
        }
        std::lock_guard<std::mutex> lock(mu_);
        active_.erase(std::remove(active_.begin(), active_.end(), in.get()), active_.end());
        running_.erase(std::find(running_.begin(), running_.end(), l->table));
        if (failure_ || abandoned_) return;
    }
}

TocEntry Loader::arrived(const Load& l) {
    const TocEntry* listed = ctx_.plan().find(l.data);
    if (!listed || !ctx_.backup()) throw StepError(ErrorKind::config, "no such data entry in the plan");
    return common::arrived_entry(ctx_, *listed);
}

void Loader::load(const Piece& p, const TocEntry& entry, common::CopyIn& in) {
    const Load& l = loads_[p.load];
    const auto t0 = Clock::now();
    in.begin(l.copy);
    auto stop = [this] {
        std::lock_guard<std::mutex> lock(mu_);
        return abandoned_ || failure_.has_value() || ctx_.env().stopping();
    };
    std::int64_t served = -1;
    // Masked columns are rewritten here, between the source and the target's COPY.
    auto filter = filter_rows(ctx_, l.table, entry);
    try {
        served = common::read_rows(
            ctx_, entry, p.where, [](const std::vector<std::string>&) {},
            [&](std::string_view row) { in.row(filter ? filtered(*filter, row, l.table) : row); }, stop);
    } catch (...) {
        in.abort();
        throw;
    }
    const long long copied = in.commit();
    // The verification counted the dump's rows (a live source, what it sent): a table that took
    // fewer is not tonight's table.
    const std::int64_t expected = served >= 0 ? served : entry.rows;
    if (expected >= 0 && copied != expected)
        throw StepError(ErrorKind::input, std::string(served >= 0 ? "the source sent " : "the dump holds ") + std::to_string(expected) +
                                              " rows, COPY took " + std::to_string(copied));
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    ctx_.add_timing("TABLE DATA", p.where.empty() ? l.table : l.table + " where " + p.where, t0, secs);
    ctx_.add_figure("rows." + l.table, static_cast<double>(copied));
    if (filter) count_filtered(ctx_, l.table, *filter);
    bool whole;
    {
        std::lock_guard<std::mutex> lock(mu_);
        rows_ += copied;
        whole = --pieces_left_[p.load] == 0;
        if (whole) ++done_;
    }
    if (whole) loaded_(l.table);
}

void Loader::wait(std::chrono::milliseconds heartbeat) {
    const auto t0 = Clock::now();
    auto last = t0;
    std::size_t last_decile = 0;
    for (;;) {
        std::size_t done, total = loads_.size();
        std::string running;
        bool over;
        {
            std::lock_guard<std::mutex> lock(mu_);
            done = done_;
            over = done_ == total || failure_ || abandoned_ || ctx_.env().stopping();
            for (const auto& t : running_) running += (running.empty() ? "" : ", ") + t;
        }
        if (over) break;
        const std::size_t decile = total ? done * 10 / total : 10;
        const bool beat = Clock::now() - last >= heartbeat;
        if (decile > last_decile || beat) {
            last_decile = decile, last = Clock::now();
            ctx_.log().info(beat ? "restore heartbeat" : "restore progress",
                            {{"done", static_cast<std::int64_t>(done)}, {"total", static_cast<std::int64_t>(total)},
                             {"percent", static_cast<std::int64_t>(total ? done * 100 / total : 100)},
                             {"elapsed_s", static_cast<std::int64_t>(std::chrono::duration<double>(Clock::now() - t0).count())},
                             {"running", running}, {"rows", rows()}});
        }
        ctx_.env().sleep_for(std::chrono::milliseconds(200));
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    if (failure_) throw *failure_;
    if (ctx_.env().stopping()) throw StepError(ErrorKind::fatal, "restore interrupted by a stop request");
}

}  // namespace pixrep::restore
