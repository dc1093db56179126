// Personal data masked in the stream (MASKING_RULES, MASKING_KEY): the rules are checked against
// tonight's backup before anything is touched (every table and column covered, every transform
// fitting its column), then every table with a masked column has its rows rewritten wherever
// the tool writes them to the target. PostgreSQL Anonymizer's labels, which a target without
// that provider refuses, are left out; with MASKING_FROM_LABELS=true they become rules first.
#include <memory>
#include <optional>

#include <pixrep/step_export.hpp>

#include "digest.hpp"
#include "facts.hpp"
#include "labels.hpp"
#include "row_masker.hpp"
#include "rules.hpp"

namespace {

using namespace pixrep;

class MaskFilter final : public RowFilter {
public:
    MaskFilter(std::shared_ptr<const mask::Keys> keys, const mask::TableRules& rules, const std::vector<std::string>& columns,
               const std::map<std::string, std::string>& types)
        : keys_(std::move(keys)), rows_(*keys_, rules, columns, types) {}
    std::string_view apply(std::string_view row) override { return rows_.apply(row); }
    std::map<std::string, std::int64_t> counts() const override { return rows_.counts(); }

private:
    std::shared_ptr<const mask::Keys> keys_;  // before rows_, which uses it
    mask::RowMasker rows_;
};

class MaskingStep final : public Step {
public:
    StepInfo info() const override {
        return {"masking", "1.0.0", "Masks personal data in the stream, by rules per column; refuses a table or column they do not cover", false};
    }

    void declare(OptionTable& t) override {
        t.add("rules", rules_file_, "TOML file of masking rules, one [tables.\"schema.table\"] section per table; unset: nothing is masked")
            .env("MASKING_RULES");
        t.add("key", key_, "Secret of at least 32 characters keying every transform: the same value masks alike in every table and night")
            .env("MASKING_KEY")
            .secret();
        t.add("from_labels", from_labels_, "Mask as the source's PostgreSQL Anonymizer labels (SECURITY LABEL FOR anon) say, where the rules "
                                           "file does not name the column; a label with no transform here is refused")
            .env("MASKING_FROM_LABELS");
    }

    void configure(Logger& log) override {
        keys_.reset();
        rules_.reset();
        if (!rules_file_ && !from_labels_) {
            if (key_) log.warn("MASKING_KEY is set but neither MASKING_RULES nor MASKING_FROM_LABELS is: nothing is masked");
            return;
        }
        if (rules_file_) {
            try {
                rules_ = mask::read_rules(*rules_file_);
            } catch (const mask::RulesError& e) {
                throw StepError(ErrorKind::config, std::string("MASKING_RULES: ") + e.what());
            }
        }
        if (!key_)
            throw StepError(ErrorKind::config, std::string(rules_file_ ? "MASKING_RULES is set" : "MASKING_FROM_LABELS is true") +
                                                   ", MASKING_KEY is not: the transforms need a secret key");
        try {
            keys_ = std::make_shared<const mask::Keys>(*key_);
        } catch (const std::invalid_argument& e) {
            throw StepError(ErrorKind::config, std::string("MASKING_KEY: ") + e.what());
        }
    }

    // The filters are handed over now, for the steps after this one to see (a kept table whose
    // masking changed is reloaded); the rules are checked in execute(), against the plan as the
    // other steps left it (tables left out need no rules), before any step touches the target.
    void prepare(RunContext& ctx) override {
        effective_.reset();
        label_problems_.clear();
        const auto tables = mask::tables_tonight(ctx.plan());
        if (from_labels_) effective_ = mask::with_labels(rules_, ctx.plan(), tables, label_problems_);
        else if (rules_) effective_ = rules_;
        // A source using PostgreSQL Anonymizer labels its columns; a target without that label
        // provider would refuse the labels, which were read above when asked for.
        if (auto n = ctx.exclude(mask::anonymizer_label, "a PostgreSQL Anonymizer label: no such provider on the target"); n > 0)
            ctx.add_note("PostgreSQL Anonymizer's labels (SECURITY LABEL FOR anon) of " + std::to_string(n) + " object(s) left out" +
                         (from_labels_ ? ", read as rules first" : ""));
        if (!effective_) return;
        std::vector<std::string> later;  // said by execute(), against the final plan
        const mask::Rules rules = with_keys(*effective_, tables, mask::foreign_keys(ctx.plan()), later);
        for (const auto& t : tables)
            if (rules.tables.count(t.table)) filter(ctx, rules, t);
    }

    void execute(RunContext& ctx) override {
        if (!effective_) return;
        const auto tables = mask::tables_tonight(ctx.plan());
        auto problems = label_problems_;
        for (auto& p : mask::problems(*effective_, tables)) problems.push_back(std::move(p));
        with_keys(*effective_, tables, mask::foreign_keys(ctx.plan()), problems);
        for (const auto& p : problems) ctx.log().error("masking: " + p);
        if (!problems.empty())
            throw StepError(ErrorKind::config, "the masking rules do not fit tonight's backup (" + std::to_string(problems.size()) +
                                                   " problem(s), nothing was touched): " + problems.front() +
                                                   (problems.size() > 1 ? "; and " + std::to_string(problems.size() - 1) + " more, in the log" : ""));
    }

private:
    // `rules` and, for each column referencing a masked one by a foreign key, the same transform;
    // one that cannot take it (another type, a rule of its own) is a problem.
    mask::Rules with_keys(const mask::Rules& rules, const std::vector<mask::TableFacts>& tables, const std::vector<mask::ForeignKey>& keys,
                          std::vector<std::string>& problems) {
        mask::Rules out = rules;
        from_.clear();
        auto type_of = [&](const std::string& table, const std::string& column) -> const mask::ColumnFacts* {
            for (const auto& t : tables)
                if (t.table == table)
                    for (const auto& c : t.columns)
                        if (c.name == column) return &c;
            return nullptr;
        };
        for (const auto& i : mask::inherit(rules, keys, problems)) {
            auto t = out.tables.find(i.table);
            const auto* column = type_of(i.table, i.column);
            if (t == out.tables.end() || !column) continue;  // not restored tonight
            const auto dot = i.from.rfind('.');
            const auto* referenced = type_of(i.from.substr(0, dot), i.from.substr(dot + 1));
            if (referenced && mask::kind_of(referenced->type) != mask::kind_of(column->type))
                problems.push_back(i.table + "." + i.column + " (" + column->type + ") references " + i.from + " (" + referenced->type +
                                   "), masked with " + mask::name_of(i.transform) + ": a " + column->type +
                                   " would not mask to the same values; give both columns one type");
            else if (auto why = mask::unfit(i.transform, column->type, column->not_null); !why.empty())
                problems.push_back(i.table + "." + i.column + " references " + i.from + ", masked with " + mask::name_of(i.transform) + ": " + why);
            t->second.columns[i.column] = {i.transform, 0};
            from_[i.table + "." + i.column] = i.from;
        }
        return out;
    }

    // The table's masked columns, if any, rewritten in every stream of its rows.
    void filter(RunContext& ctx, const mask::Rules& all, const mask::TableFacts& t) {
        const mask::TableRules& rules = all.tables.at(t.table);
        RowFilterSpec spec;
        std::map<std::string, std::string> types;
        std::string said, fingerprint = keys_->fingerprint() + "\n";
        for (const auto& c : t.columns) {
            types[c.name] = c.type;
            const auto rule = rules.rule(c.name);
            if (!rule || rule->transform == mask::Transform::keep) continue;
            spec.columns.push_back(c.name);
            auto from = from_.find(t.table + "." + c.name);
            said += (said.empty() ? "" : ", ") + c.name + " (" + mask::name_of(rule->transform) +
                    (from == from_.end() ? "" : ", as " + from->second + " it references") + (rule->label.empty() ? "" : ", from its label") + ")";
            fingerprint += c.name + "=" + mask::name_of(rule->transform) + "\n";
        }
        if (spec.columns.empty()) return;
        common::Sha256 sha;
        sha.update(fingerprint.data(), fingerprint.size());
        spec.fingerprint = sha.hex();
        auto keys = keys_;
        spec.make = [keys, rules, types](const std::vector<std::string>& columns) -> std::unique_ptr<RowFilter> {
            return std::make_unique<MaskFilter>(keys, rules, columns, types);
        };
        ctx.filter_rows(t.table, std::move(spec));
        ctx.add_note(t.table + ": masked: " + said);
    }

    std::optional<std::string> rules_file_, key_;
    bool from_labels_ = false;
    std::optional<mask::Rules> rules_;     ///< The rules file's.
    std::optional<mask::Rules> effective_;  ///< Tonight's: the file's, with the labels' when asked.
    std::vector<std::string> label_problems_;  ///< Labels no transform here does, said by execute().
    std::shared_ptr<const mask::Keys> keys_;
    std::map<std::string, std::string> from_;  ///< "table.column" masked as the column it references
};

}  // namespace

PIXREP_STEP(MaskingStep)
