#pragma once
// The masking transforms: what a column's value becomes in the copy. Keyed and deterministic:
// one key masks a value to the same output in every table and every night, so joins on masked
// columns still work. `hash` and `email` are injective (deterministic encryption built as SIV
// is, CMAC-AES-256 then AES-256-CTR, or a keyed permutation of the integer's or the uuid's own
// width), so a unique index still builds; names are picked from lists, and dates generalised as
// Pix does (day 1, midnight).
// Every primitive is OpenSSL's.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pixrep::mask {

enum class Transform { keep, null, hash, email, first_name, last_name, year_month, year };

/// The transform a rules file names `name`; nullopt when none.
std::optional<Transform> transform_named(const std::string& name);
/// The name of `t` in a rules file.
const char* name_of(Transform t);
/// Every transform's name, for an error message.
std::string transform_names();
/// True when two different values never give one output (a unique index still builds).
bool injective(Transform t);

/// A column's type as the transforms see it.
enum class Kind { text, int16, int32, int64, uuid, date, timestamp, timestamptz, other };
/// The kind of a type as format_type() or pg_dump writes it ("character varying(255)", "bigint").
Kind kind_of(const std::string& type);
/// Why `t` cannot mask a column of `type` (nullable unless `not_null`); empty when it can.
std::string unfit(Transform t, const std::string& type, bool not_null);

/// The keys derived from MASKING_KEY; the secret itself is not kept.
class Keys {
public:
    /// Throws std::invalid_argument when `secret` is shorter than 32 characters.
    explicit Keys(const std::string& secret);
    ~Keys();
    Keys(const Keys&) = delete;
    Keys& operator=(const Keys&) = delete;
    /// A SHA-256, safe to store, that changes when the key changes.
    const std::string& fingerprint() const { return fingerprint_; }

private:
    friend class Masker;
    unsigned char siv_[64], block_[32], pick_[32];
    std::string fingerprint_;
};

/// Masks values, one at a time; one per thread (it holds OpenSSL contexts).
class Masker {
public:
    explicit Masker(const Keys& keys);
    ~Masker();
    Masker(const Masker&) = delete;
    Masker& operator=(const Masker&) = delete;
    /// `value` (as the column holds it, unescaped) masked by `t` for a column of kind `k`;
    /// nullopt for NULL. Throws std::invalid_argument on a value its kind cannot read.
    std::optional<std::string> apply(Transform t, Kind k, std::string_view value);

private:
    std::string siv(std::string_view value, std::string_view domain);
    std::uint64_t permute(std::uint64_t x, int bits);
    std::string uuid(std::string_view value);
    std::string pick(std::string_view value, Transform t);
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
    const Keys& keys_;
};

/// `value` as an e-mail address at masked.invalid (a reserved domain, never delivered): the
/// bytes of `sealed` in base64url as its local part when they fit in 64 characters, else in
/// base32 labels of its domain. Injective. Pure.
std::string email_of(const std::string& sealed);
/// "2024-03-15", "2024-03-15 10:22:33.5+01" generalised to the first of the month (`year`:
/// of the year) at midnight, the offset kept; "infinity" as it is. Throws std::invalid_argument.
std::string generalise_date(std::string_view value, Kind k, bool to_year);

}  // namespace pixrep::mask
