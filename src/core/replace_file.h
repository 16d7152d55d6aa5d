#ifndef MAMORI_CORE_REPLACE_FILE_H_
#define MAMORI_CORE_REPLACE_FILE_H_

#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori {

// Replaces the file `path` with `text` so that a crash leaves the old file
// or the new one whole: writes PATH.tmp, fsyncs it, renames it over `path`
// and fsyncs the directory. A failure removes PATH.tmp, leaves `path` as it
// was and is an Error with `code`, naming the file and the cause.
Status replace_file(const std::string& path, std::string_view text, std::string_view code);

}  // namespace mamori

#endif  // MAMORI_CORE_REPLACE_FILE_H_
