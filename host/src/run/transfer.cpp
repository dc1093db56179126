#include "transfer.hpp"

#include "boundary.hpp"

namespace pixrep {

// What the body sees: the step's environment, a logger tagged with the transfer, and the verbs.
class Transfer::Sink final : public Arrival {
public:
    explicit Sink(Transfer& t) : t_(t), log_(t.log_, t.source_) {}
    const RunEnv& env() const override { return t_.env_; }
    Logger& log() const override { return log_; }
    void toc(Backup backup, RestorePlan plan) override {
        {
            std::lock_guard<std::mutex> lock(t_.mu_);
            if (t_.toc_) throw StepError(ErrorKind::config, "step '" + t_.source_ + "' handed over two tables of contents");
        }
        t_.adopt_(std::move(backup), std::move(plan));
        std::lock_guard<std::mutex> lock(t_.mu_);
        t_.toc_ = true;
        t_.cv_.notify_all();
    }
    void arrived(DumpId id, const Arrived& what) override {
        std::lock_guard<std::mutex> lock(t_.mu_);
        t_.arrived_[id] = what;
        t_.cv_.notify_all();
    }
    void add_figure(const std::string& name, double value, Unit unit) override { t_.add_figure_(name, value, unit); }
    bool read_by_a_step(DumpId id) const override { return t_.read_by_a_step_ && t_.read_by_a_step_(id); }

private:
    // Adds the step and the phase to every record, as the host does for a step's own calls.
    class Tagged final : public Logger {
    public:
        Tagged(Logger& base, std::string step) : base_(base), step_(std::move(step)) {}
        void write(Level level, std::string_view msg, const Fields& fields) override {
            Fields all{{"step", step_}, {"phase", std::string("transfer")}};
            all.insert(all.end(), fields.begin(), fields.end());
            base_.write(level, msg, all);
        }
        void add_secret(const std::string& secret) override { base_.add_secret(secret); }
        std::string redact(std::string_view text) const override { return base_.redact(text); }

    private:
        Logger& base_;
        std::string step_;
    };
    Transfer& t_;
    mutable Tagged log_;
};

Transfer::Transfer(std::string source, const RunEnv& env, Logger& log, std::function<void(Arrival&)> body, Adopt adopt,
                   std::function<void(const std::string&, double, Unit)> add_figure, std::function<bool(DumpId)> read_by_a_step)
    : source_(std::move(source)), env_(env), log_(log), adopt_(std::move(adopt)), add_figure_(std::move(add_figure)),
      read_by_a_step_(std::move(read_by_a_step)) {
    thread_ = std::thread([this, body = std::move(body)]() mutable { run(std::move(body)); });
}

Transfer::~Transfer() {
    if (thread_.joinable()) thread_.join();
}

void Transfer::run(std::function<void(Arrival&)> body) {
    std::optional<StepError> error;
    try {
        Sink sink(*this);
        guarded("", ErrorKind::fatal, [&] { body(sink); });
        std::lock_guard<std::mutex> lock(mu_);
        if (!toc_) error = StepError(ErrorKind::config, "step '" + source_ + "' streamed a dump without handing over its table of contents");
    } catch (const StepError& e) {
        error = e;
    }
    body = nullptr;  // what the body captured goes while the plugin is surely loaded
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::move(error);
    done_ = true;
    cv_.notify_all();
}

void Transfer::wait_toc() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return toc_ || done_; });
    if (error_) throw *error_;
}

void Transfer::wait_done() {
    {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return done_; });
        if (error_) throw *error_;
    }
    if (thread_.joinable()) thread_.join();
}

std::optional<Arrived> Transfer::wait_for(DumpId id, const std::function<bool()>& stopping) const {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        if (error_) throw *error_;
        auto it = arrived_.find(id);
        if (it != arrived_.end()) return it->second;
        if (done_) return std::nullopt;
        if (stopping && stopping()) throw StepError(ErrorKind::fatal, "stopped while waiting for the dump's data to arrive");
        cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
}

std::optional<StepError> Transfer::failure() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
}

std::map<DumpId, Arrived> Transfer::arrivals() const {
    std::lock_guard<std::mutex> lock(mu_);
    return arrived_;
}

}  // namespace pixrep
