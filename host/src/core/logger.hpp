#pragma once
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include <pixrep/log.hpp>

namespace pixrep {

/// Replaces URL passwords and bearer tokens in `text`; registered secrets are handled by the logger.
std::string redact_patterns(std::string_view text);

/// The host's logger: bunyan JSON lines or readable text, with redaction, thread-safe.
class HostLogger : public Logger {
public:
    enum class Format { json, text };
    HostLogger(std::ostream& out, Format format, Level min_level);

    void write(Level level, std::string_view msg, const Fields& fields = {}) override;
    void add_secret(const std::string& secret) override;
    std::string redact(std::string_view text) const override;

    /// Writes with extra fields prepended (used by step-scoped loggers).
    void write_with(Level level, std::string_view msg, const Fields& prefix, const Fields& fields);
    void set_min_level(Level l) { min_level_ = l; }
    /// How many secrets are registered (bounded: kPinnedSecrets + kRotatingSecrets).
    std::size_t secret_count() const;

    /// Secrets kept for the life of the process: the first ones registered (the configuration's).
    static constexpr std::size_t kPinnedSecrets = 32;
    /// Secrets registered later (a run's bearers), of which only the newest are kept.
    static constexpr std::size_t kRotatingSecrets = 32;

private:
    std::ostream& out_;
    Format format_;
    Level min_level_;
    std::string name_, hostname_;
    long pid_;
    mutable std::mutex mu_;
    std::vector<std::string> secrets_;
};

/// A logger that adds fixed fields (e.g. step=pg-restore) to every record of the root logger.
class ScopedLogger : public Logger {
public:
    ScopedLogger(HostLogger& root, Fields fields) : root_(root), fields_(std::move(fields)) {}
    void write(Level level, std::string_view msg, const Fields& fields = {}) override {
        root_.write_with(level, msg, fields_, fields);
    }
    void add_secret(const std::string& secret) override { root_.add_secret(secret); }
    std::string redact(std::string_view text) const override { return root_.redact(text); }

private:
    HostLogger& root_;
    Fields fields_;
};

}  // namespace pixrep
