#pragma once
// Reading pg_restore --verbose: which items start and finish, which tables are loaded, and
// which errors are real. Pure: fed lines with the time they were seen.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <pixrep/plan.hpp>

namespace pixrep::restore {

/// An item pg_restore finished, with its times in seconds since the restore started.
struct FinishedItem {
    std::string desc, tag;
    double start = 0, end = 0;
};

class Progress {
public:
    /// `plan` names the items pg_restore mentions by dump id.
    explicit Progress(const RestorePlan& plan) : plan_(plan) {}

    /// One line of pg_restore's stderr, seen `now` seconds after the restore started.
    void line(const std::string& line, double now);
    /// pg_restore exited: the item in progress, if any, is over.
    void end(double now);

    /// Items finished since the last call.
    std::vector<FinishedItem> take_finished();
    /// Tables whose data finished loading since the last call ("schema.table").
    std::vector<std::string> take_loaded();
    /// Error lines seen since the last call, for the log.
    std::vector<std::string> take_new_errors();

    /// Items started so far (a rough progress count).
    std::int64_t done() const { return done_; }
    /// What runs now, longest first: "TABLE DATA answers (12s)".
    std::string running(double now) const;
    /// The first error lines (up to 6), for the run's error.
    const std::vector<std::string>& first_errors() const { return first_errors_; }
    /// Real errors counted.
    std::int64_t errors() const { return errors_; }
    /// Errors pg_restore said it ignored ("errors ignored on restore: N"), -1 when it said nothing.
    std::int64_t reported_ignored() const { return reported_ignored_; }
    /// Errors that only mean the server does not know a session setting pg_restore sends (a newer
    /// pg_restore into an older server: "SET transaction_timeout"), and their settings.
    std::int64_t harmless() const { return harmless_; }
    const std::vector<std::string>& unknown_settings() const { return unknown_settings_; }

private:
    void start_serial(const std::string& label, double now);
    void error(const std::string& text);
    const RestorePlan& plan_;
    std::map<int, std::pair<std::string, double>> running_;  // parallel items: id -> (label, start)
    std::string serial_label_;
    double serial_start_ = 0;
    bool parallel_ = false, serial_has_id_ = false;
    std::int64_t done_ = 0, errors_ = 0, reported_ignored_ = -1, harmless_ = 0;
    std::string pending_setting_;  // an "unrecognized configuration parameter" error awaiting its command
    std::vector<std::string> first_errors_, new_errors_, unknown_settings_, loaded_;
    std::vector<FinishedItem> finished_;
};

}  // namespace pixrep::restore
