#include "names.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace pixrep::mask {
namespace {

constexpr std::array<const char*, 64> kFirst{
    "Adam",   "Agathe", "Alice",   "Anna",    "Arthur",  "Camille", "Chloé",   "Clara",  "Emma",    "Ethan",   "Eva",
    "Gabriel", "Hugo",  "Inès",    "Jade",    "Jules",   "Julia",   "Léa",     "Léo",    "Léon",    "Lina",    "Lou",
    "Louis",  "Louise", "Lucas",   "Maël",    "Manon",   "Margaux", "Mathis",  "Mia",    "Nathan",  "Noah",    "Nora",
    "Paul",   "Raphaël", "Rose",   "Sacha",   "Sarah",   "Tom",     "Zoé",     "Anne",   "Claire",  "David",   "Élise",
    "Fanny",  "Henri",  "Isabelle", "Jean",   "Karim",   "Laura",   "Marc",    "Nadia",  "Olivier", "Pauline", "Quentin",
    "Rémi",   "Sophie", "Théo",    "Valérie", "Yanis",   "Yasmine", "Aurélie", "Benoît", "Cédric"};

constexpr std::array<const char*, 64> kLast{
    "Martin",  "Bernard",  "Thomas",   "Petit",    "Robert",  "Richard", "Durand",   "Dubois",  "Moreau",  "Laurent", "Simon",
    "Michel",  "Lefebvre", "Leroy",    "Roux",     "David",   "Bertrand", "Morel",   "Fournier", "Girard", "Bonnet",  "Dupont",
    "Lambert", "Fontaine", "Rousseau", "Vincent",  "Muller",  "Lefèvre", "Faure",    "André",   "Mercier", "Blanc",   "Guérin",
    "Boyer",   "Garnier",  "Chevalier", "François", "Legrand", "Gauthier", "Garcia",  "Perrin",  "Robin",   "Clément", "Morin",
    "Nicolas", "Henry",    "Roussel",  "Mathieu",  "Gautier", "Masson",  "Marchand", "Duval",   "Denis",   "Dumont",  "Marie",
    "Lemaire", "Noël",     "Meyer",    "Dufour",   "Meunier", "Brun",    "Blanchard", "Giraud", "Joly"};

// Characters, not bytes: a varchar(n) counts characters.
std::size_t characters(const char* s) {
    std::size_t n = 0;
    for (; *s; ++s) n += (static_cast<unsigned char>(*s) & 0xC0) != 0x80;
    return n;
}

}  // namespace

std::string first_name(std::uint64_t x) { return kFirst[x % kFirst.size()]; }
std::string last_name(std::uint64_t x) { return kLast[x % kLast.size()]; }

std::size_t longest_name() {
    std::size_t n = 0;
    for (const char* s : kFirst) n = std::max(n, characters(s));
    for (const char* s : kLast) n = std::max(n, characters(s));
    return n;
}

}  // namespace pixrep::mask
