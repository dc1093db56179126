#include "transforms.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include "digest.hpp"
#include "names.hpp"

namespace pixrep::mask {
namespace {

struct Named {
    Transform t;
    const char* name;
    bool injective;
};
constexpr std::array<Named, 8> kTransforms{{{Transform::keep, "keep", true},
                                            {Transform::null, "null", false},
                                            {Transform::hash, "hash", true},
                                            {Transform::email, "email", true},
                                            {Transform::first_name, "first_name", false},
                                            {Transform::last_name, "last_name", false},
                                            {Transform::year_month, "year_month", false},
                                            {Transform::year, "year", false}}};

void check(int ok, const char* what) {
    if (ok != 1) throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

// HMAC-SHA256(secret, label): one subkey per use, so that no two transforms share a key.
void derive(const std::string& secret, const std::string& label, unsigned char* out) {
    std::size_t n = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                   reinterpret_cast<const unsigned char*>(label.data()), label.size(), out, 32, &n) ||
        n != 32)
        throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
}

std::string base64url(const unsigned char* p, std::size_t n) {
    static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        acc = (acc << 8) | p[i], bits += 8;
        while (bits >= 6) out += digits[(acc >> (bits - 6)) & 63], bits -= 6;
    }
    if (bits > 0) out += digits[(acc << (6 - bits)) & 63];
    return out;
}

std::string base32(const unsigned char* p, std::size_t n) {
    static const char* digits = "abcdefghijklmnopqrstuvwxyz234567";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        acc = (acc << 8) | p[i], bits += 8;
        while (bits >= 5) out += digits[(acc >> (bits - 5)) & 31], bits -= 5;
    }
    if (bits > 0) out += digits[(acc << (5 - bits)) & 31];
    return out;
}

// The length a character type is bounded to; no bound: the largest.
long length_of(const std::string& type) {
    const auto open = type.find('(');
    return open == std::string::npos ? 1L << 30 : std::stol(type.substr(open + 1));
}

std::int64_t parse_integer(std::string_view v) {
    std::size_t used = 0;
    const std::string s(v);
    long long x = 0;
    try {
        x = std::stoll(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != s.size()) throw std::invalid_argument("not an integer");
    return x;
}

}  // namespace

std::optional<Transform> transform_named(const std::string& name) {
    for (const auto& n : kTransforms)
        if (name == n.name) return n.t;
    return std::nullopt;
}

const char* name_of(Transform t) {
    for (const auto& n : kTransforms)
        if (n.t == t) return n.name;
    return "?";
}

std::string transform_names() {
    std::string out;
    for (const auto& n : kTransforms) out += (out.empty() ? "" : ", ") + std::string(n.name);
    return out;
}

bool injective(Transform t) {
    for (const auto& n : kTransforms)
        if (n.t == t) return n.injective;
    return false;
}

Kind kind_of(const std::string& type) {
    auto starts = [&](const char* p) { return type.rfind(p, 0) == 0; };
    if (type == "text" || starts("character varying") || starts("varchar") || type == "citext" || starts("character(") || type == "character")
        return Kind::text;
    if (type == "smallint") return Kind::int16;
    if (type == "integer") return Kind::int32;
    if (type == "bigint") return Kind::int64;
    if (type == "uuid") return Kind::uuid;
    if (type == "date") return Kind::date;
    if (starts("timestamp with time zone") || (starts("timestamp(") && type.find("with time zone") != std::string::npos)) return Kind::timestamptz;
    if (starts("timestamp")) return Kind::timestamp;
    return Kind::other;
}

std::string unfit(Transform t, const std::string& type, bool not_null) {
    const Kind k = kind_of(type);
    const bool bounded = type.find('(') != std::string::npos;
    switch (t) {
        case Transform::keep: return "";
        case Transform::null: return not_null ? "the column is NOT NULL" : "";
        case Transform::hash:
            if (k == Kind::text && bounded) return "its output is longer than the value: a " + type + " cannot hold it (use a text column)";
            if (k == Kind::text || k == Kind::int16 || k == Kind::int32 || k == Kind::int64 || k == Kind::uuid) return "";
            return "hash masks text, integers and uuids, not " + type;
        case Transform::email:
            if (k != Kind::text) return "email masks text, not " + type;
            if (length_of(type) < 254) return "a masked address can be up to 254 characters: a " + type + " cannot hold it";
            return "";
        case Transform::first_name:
        case Transform::last_name:
            if (k != Kind::text) return std::string(name_of(t)) + " masks text, not " + type;
            if (length_of(type) < static_cast<long>(longest_name()))
                return "the names can be " + std::to_string(longest_name()) + " characters long: a " + type + " cannot hold them";
            return "";
        case Transform::year_month:
        case Transform::year:
            if (k == Kind::date || k == Kind::timestamp || k == Kind::timestamptz) return "";
            return std::string(name_of(t)) + " masks dates and timestamps, not " + type;
    }
    return "unknown transform";
}

Keys::Keys(const std::string& secret) {
    if (secret.size() < 32) throw std::invalid_argument("the masking key must be at least 32 characters long");
    derive(secret, "pix-db-replication mask v2 siv cmac", siv_);
    derive(secret, "pix-db-replication mask v2 siv ctr", siv_ + 32);
    derive(secret, "pix-db-replication mask v1 block", block_);
    derive(secret, "pix-db-replication mask v1 pick", pick_);
    unsigned char check[32];
    derive(secret, "pix-db-replication mask v2 fingerprint", check);  // v2: text sealed by CMAC and CTR
    common::Sha256 sha;
    sha.update(reinterpret_cast<const char*>(check), sizeof check);
    fingerprint_ = sha.hex();
    OPENSSL_cleanse(check, sizeof check);
}

Keys::~Keys() {
    OPENSSL_cleanse(siv_, sizeof siv_);
    OPENSSL_cleanse(block_, sizeof block_);
    OPENSSL_cleanse(pick_, sizeof pick_);
}

struct Masker::Ctx {
    EVP_MAC* cmac = nullptr;
    EVP_MAC_CTX* s2v = nullptr;       // CMAC-AES-256, keyed once: the synthetic IVs
    EVP_CIPHER_CTX* ctr = nullptr;    // AES-256-CTR, keyed once: the sealed values
    EVP_CIPHER_CTX* block = nullptr;  // AES-256 on one block: the uuids' permutation, the integers' rounds
    EVP_MAC* hmac = nullptr;
    EVP_MAC_CTX* picking = nullptr;
    ~Ctx() {
        EVP_MAC_CTX_free(picking);
        EVP_MAC_free(hmac);
        EVP_CIPHER_CTX_free(block);
        EVP_CIPHER_CTX_free(ctr);
        EVP_MAC_CTX_free(s2v);
        EVP_MAC_free(cmac);
    }
};

Masker::Masker(const Keys& keys) : ctx_(std::make_unique<Ctx>()), keys_(keys) {
    ctx_->cmac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
    ctx_->hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    ctx_->ctr = EVP_CIPHER_CTX_new();
    ctx_->block = EVP_CIPHER_CTX_new();
    if (!ctx_->cmac || !ctx_->hmac || !ctx_->ctr || !ctx_->block) throw std::runtime_error("OpenSSL: CMAC, HMAC or AES is not available");
    ctx_->s2v = EVP_MAC_CTX_new(ctx_->cmac);
    ctx_->picking = EVP_MAC_CTX_new(ctx_->hmac);
    char cbc[] = "AES-256-CBC", sha256[] = "SHA256";
    const OSSL_PARAM cmac[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cbc, 0), OSSL_PARAM_construct_end()};
    check(EVP_MAC_init(ctx_->s2v, keys_.siv_, 32, cmac), "CMAC init");
    check(EVP_EncryptInit_ex2(ctx_->ctr, EVP_aes_256_ctr(), keys_.siv_ + 32, nullptr, nullptr), "AES-256-CTR init");
    check(EVP_EncryptInit_ex2(ctx_->block, EVP_aes_256_ecb(), keys_.block_, nullptr, nullptr), "AES-256 init");
    EVP_CIPHER_CTX_set_padding(ctx_->block, 0);
    const OSSL_PARAM hmac[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256, 0), OSSL_PARAM_construct_end()};
    check(EVP_MAC_init(ctx_->picking, keys_.pick_, sizeof keys_.pick_, hmac), "HMAC init");
}

Masker::~Masker() = default;

// Deterministic encryption built as SIV is (RFC 5297): a synthetic IV, the CMAC of `domain` and
// `value`, then `value` in AES-CTR under that IV; the output is the IV then the ciphertext, which
// decrypt back to `value`, so two values never seal alike. OpenSSL's own AES-SIV would do the
// same but allocates its contexts anew for every value (a third of the throughput); these two
// are keyed once and only restarted.
std::string Masker::siv(std::string_view value, std::string_view domain) {
    std::string out(16 + value.size(), '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    const unsigned char length = static_cast<unsigned char>(domain.size());  // domains are short constants
    std::size_t tag = 0;
    check(EVP_MAC_init(ctx_->s2v, nullptr, 0, nullptr), "CMAC restart");
    check(EVP_MAC_update(ctx_->s2v, &length, 1), "CMAC");
    check(EVP_MAC_update(ctx_->s2v, reinterpret_cast<const unsigned char*>(domain.data()), domain.size()), "CMAC");
    check(EVP_MAC_update(ctx_->s2v, reinterpret_cast<const unsigned char*>(value.data()), value.size()), "CMAC");
    check(EVP_MAC_final(ctx_->s2v, o, &tag, 16), "CMAC final");
    int n = 0;
    check(EVP_EncryptInit_ex2(ctx_->ctr, nullptr, nullptr, o, nullptr), "AES-CTR IV");
    check(EVP_EncryptUpdate(ctx_->ctr, o + 16, &n, reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size())),
          "AES-CTR");
    return out;
}

// A keyed permutation of the `bits`-wide integers: a balanced Feistel network of 8 rounds whose
// round function is AES-256 of (round, width, half): any round function gives a permutation.
std::uint64_t Masker::permute(std::uint64_t x, int bits) {
    const int half = bits / 2;
    const std::uint64_t mask = half == 64 ? ~0ULL : (1ULL << half) - 1;
    std::uint64_t l = (x >> half) & mask, r = x & mask;
    unsigned char in[16], out[16];
    for (int round = 0; round < 8; ++round) {
        std::memset(in, 0, sizeof in);
        in[0] = static_cast<unsigned char>(round), in[1] = static_cast<unsigned char>(bits);
        for (int i = 0; i < 8; ++i) in[8 + i] = static_cast<unsigned char>(r >> (8 * i));
        int n = 0;
        check(EVP_EncryptUpdate(ctx_->block, out, &n, in, 16), "AES-256");
        std::uint64_t f = 0;
        for (int i = 0; i < 8; ++i) f |= static_cast<std::uint64_t>(out[i]) << (8 * i);
        const std::uint64_t next = l ^ (f & mask);
        l = r, r = next;
    }
    return (l << half) | r;
}

std::string Masker::uuid(std::string_view value) {
    unsigned char in[16], out[16];
    int got = 0;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (char c : value) {
        if (c == '-' || c == '{' || c == '}') continue;
        const int d = hex(c);
        if (d < 0 || got >= 32) throw std::invalid_argument("not a uuid");
        in[got / 2] = static_cast<unsigned char>(got % 2 ? (in[got / 2] | d) : d << 4);
        ++got;
    }
    if (got != 32) throw std::invalid_argument("not a uuid");
    int n = 0;
    check(EVP_EncryptUpdate(ctx_->block, out, &n, in, 16), "AES-256");
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += digits[out[i] >> 4], s += digits[out[i] & 15];
    }
    return s;
}

std::string Masker::pick(std::string_view value, Transform t) {
    unsigned char mac[32];
    std::size_t n = 0;
    const char domain = t == Transform::first_name ? 'f' : 'l';
    check(EVP_MAC_init(ctx_->picking, nullptr, 0, nullptr), "HMAC init");
    check(EVP_MAC_update(ctx_->picking, reinterpret_cast<const unsigned char*>(&domain), 1), "HMAC");
    check(EVP_MAC_update(ctx_->picking, reinterpret_cast<const unsigned char*>(value.data()), value.size()), "HMAC");
    check(EVP_MAC_final(ctx_->picking, mac, &n, sizeof mac), "HMAC final");
    std::uint64_t x = 0;
    for (int i = 0; i < 8; ++i) x = (x << 8) | mac[i];
    return t == Transform::first_name ? first_name(x) : last_name(x);
}

std::optional<std::string> Masker::apply(Transform t, Kind k, std::string_view value) {
    switch (t) {
        case Transform::keep: return std::string(value);
        case Transform::null: return std::nullopt;
        // An empty value (SIV seals nothing) has an output no other value has: shorter than any seal.
        case Transform::email: return value.empty() ? std::string("empty@masked.invalid") : email_of(siv(value, "email"));
        case Transform::first_name:
        case Transform::last_name: return pick(value, t);
        case Transform::year_month:
        case Transform::year: return generalise_date(value, k, t == Transform::year);
        case Transform::hash: break;
    }
    const int bits = k == Kind::int16 ? 16 : k == Kind::int32 ? 32 : 64;
    switch (k) {
        case Kind::int16:
        case Kind::int32:
        case Kind::int64: {
            const std::uint64_t width = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
            const std::uint64_t y = permute(static_cast<std::uint64_t>(parse_integer(value)) & width, bits);
            // Back to the signed integer of that width.
            const std::int64_t s = bits == 64 || y < (1ULL << (bits - 1)) ? static_cast<std::int64_t>(y)
                                                                          : static_cast<std::int64_t>(y) - (static_cast<std::int64_t>(1) << bits);
            return std::to_string(s);
        }
        case Kind::uuid: return uuid(value);
        case Kind::text: {
            if (value.empty()) return std::string();
            const std::string sealed = siv(value, "text");
            return base64url(reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size());
        }
        default: throw std::invalid_argument("hash masks text, integers and uuids");
    }
}

std::string email_of(const std::string& sealed) {
    const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
    std::string local = base64url(p, sealed.size());
    if (local.size() <= 64) return local + "@masked.invalid";
    // Too long for a local part: in the domain, in labels of at most 63 letters and digits.
    const std::string digits = base32(p, sealed.size());
    std::string domain;
    for (std::size_t i = 0; i < digits.size(); i += 63) domain += digits.substr(i, 63) + ".";
    return "x@" + domain + "masked.invalid";
}

std::string generalise_date(std::string_view value, Kind k, bool to_year) {
    if (value == "infinity" || value == "-infinity") return std::string(value);
    // YYYY-MM-DD (the year may be longer), then for timestamps " HH:MM:SS[.f]" and an offset, and " BC".
    const auto dash = value.find('-', 1);
    if (dash == std::string_view::npos || dash + 6 > value.size() || value[dash + 3] != '-') throw std::invalid_argument("not an ISO date");
    std::string out(value.substr(0, dash + 1));
    out += to_year ? "01-01" : std::string(value.substr(dash + 1, 2)) + "-01";
    std::string_view rest = value.substr(dash + 6);
    std::string bc;
    if (rest.size() >= 3 && rest.substr(rest.size() - 3) == " BC") bc = " BC", rest.remove_suffix(3);
    if (k == Kind::timestamp || k == Kind::timestamptz) {
        out += " 00:00:00";
        if (k == Kind::timestamptz) {
            const auto sign = rest.find_first_of("+-", 1);
            if (sign == std::string_view::npos) throw std::invalid_argument("no offset in a timestamp with time zone");
            out += std::string(rest.substr(sign));
        }
    }
    return out + bc;
}

}  // namespace pixrep::mask
