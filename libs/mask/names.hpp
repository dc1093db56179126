#pragma once
// The names a masked first or last name is picked from: common French names, so that a masked
// copy still reads like Pix's data. Pure.
#include <cstddef>
#include <cstdint>
#include <string>

namespace pixrep::mask {

/// The first name numbered `x` (modulo the list's length).
std::string first_name(std::uint64_t x);
/// The last name numbered `x` (modulo the list's length).
std::string last_name(std::uint64_t x);
/// The length of the longest name of either list, in characters.
std::size_t longest_name();

}  // namespace pixrep::mask
