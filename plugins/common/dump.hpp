#pragma once
// Opening, checking and describing pg_dump archives, shared by the source steps and pg-restore.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <pixrep/step.hpp>

struct archive;

namespace pixrep::common {

enum class FileKind { custom_dump, directory_dump, tar_archive, gzip_archive, missing, unknown };

/// What a path holds, judged by its first bytes (or toc.dat for a directory dump).
FileKind detect_kind(const std::filesystem::path& p);

/// Checks that a custom-format dump is whole: readable header and TOC, and every data block up
/// to the end of the file. Throws StepError(input) naming the file when it is not.
void verify_custom_dump(const std::filesystem::path& dump);

/// Checks that every data entry of a directory-format dump has its data file.
void verify_directory_dump(const std::filesystem::path& dir, const RestorePlan& plan);

/// Reads the table of contents with the real pg_restore: entries, dependencies and definitions.
/// Throws StepError(input) with a clear message when pg_restore cannot read the dump (including
/// a dump written by a newer pg_dump than the installed client tools).
RestorePlan read_toc(const std::filesystem::path& dump, Logger& log);

/// Reads a tar stream from `a` (already opened) and writes its single *.pgsql entry to
/// `work_dir`, via a ".partial" file renamed only once complete. Refuses absolute paths, "..",
/// no *.pgsql and more than one. `label` names the archive in messages. Returns the dump path.
std::filesystem::path extract_pgsql(struct archive* a, const std::filesystem::path& work_dir, const std::string& label);

/// Splits a libpq URL into (URL without password, password), so the password can travel in
/// PGPASSWORD instead of a command line anyone on the machine can read.
std::pair<std::string, std::string> split_password(const std::string& url);

/// Version of the installed pg_restore, e.g. "15.18".
std::string pg_restore_version();

}  // namespace pixrep::common
