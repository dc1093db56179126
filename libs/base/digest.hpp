#pragma once
// SHA-256 of a stream of bytes, from OpenSSL: what says that a table's rows are tonight what
// they were when the tool last restored them.
#include <cstddef>
#include <memory>
#include <string>

namespace pixrep::common {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    /// Adds `n` bytes.
    void update(const char* p, std::size_t n);
    /// The digest of every byte added, as 64 lowercase hex digits; the object is spent.
    std::string hex();

private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

}  // namespace pixrep::common
