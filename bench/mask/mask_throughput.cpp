// Values masked per second on one core, per transform, on Pix-shaped values. Not a test:
//   cmake --build build --target mask_throughput && ./build/mask_throughput [values]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "transforms.hpp"

using namespace pixrep::mask;

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 1000000;
    Keys keys("a-masking-key-of-at-least-32-characters!");
    Masker m(keys);
    struct Case {
        const char* name;
        Transform t;
        Kind k;
        std::string (*value)(int);
    };
    const std::vector<Case> cases{
        {"email (text)", Transform::email, Kind::text, [](int i) { return "prenom.nom" + std::to_string(i) + "@example.net"; }},
        {"hash (text)", Transform::hash, Kind::text, [](int i) { return "Nom-" + std::to_string(i); }},
        {"hash (bigint)", Transform::hash, Kind::int64, [](int i) { return std::to_string(1000000 + i); }},
        {"hash (integer)", Transform::hash, Kind::int32, [](int i) { return std::to_string(i); }},
        {"hash (uuid)", Transform::hash, Kind::uuid, [](int i) { char b[40]; std::snprintf(b, sizeof b, "a0eebc99-9c0b-4ef8-bb6d-%012d", i); return std::string(b); }},
        {"first_name", Transform::first_name, Kind::text, [](int i) { return "Prenom" + std::to_string(i); }},
        {"year_month (timestamptz)", Transform::year_month, Kind::timestamptz, [](int i) { return "2024-03-" + std::to_string(10 + i % 18) + " 10:22:33.5+01"; }},
    };
    std::printf("| transform | values | seconds | values per second |\n|---|---:|---:|---:|\n");
    for (const auto& c : cases) {
        std::vector<std::string> values;
        values.reserve(n);
        for (int i = 0; i < n; ++i) values.push_back(c.value(i));
        std::size_t sink = 0;
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& v : values) sink += m.apply(c.t, c.k, v)->size();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("| %s | %d | %.2f | %.0f |\n", c.name, n, s, n / s);
        if (sink == 0) return 1;
    }
}
