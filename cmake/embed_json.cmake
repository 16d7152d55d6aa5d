# Writes a C++ source file that holds a JSON file's bytes, so that a binary
# serves the document it was built with and the repository keeps one copy.
#   cmake -DINPUT=docs/openapi.json -DOUTPUT=openapi_document.cc
#         -DHEADER=protocols/http/openapi_document.h -DNAMESPACE=mamori::http
#         -DFUNCTION=openapi_document -P embed_json.cmake
# The input must be valid JSON: a broken document fails the build here, with
# CMake's account of where, rather than at the first request for it.
foreach(var INPUT OUTPUT HEADER NAMESPACE FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_json.cmake: -D${var}=... is required")
  endif()
endforeach()

file(READ "${INPUT}" text)
string(JSON type ERROR_VARIABLE json_error TYPE "${text}")
if(json_error)
  message(FATAL_ERROR "${INPUT}: not valid JSON: ${json_error}")
endif()

file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
# 0xNN, per byte, 24 bytes a line.
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){24})" "\\1\n    " bytes "${bytes}")

file(WRITE "${OUTPUT}"
"// Generated from ${INPUT} by cmake/embed_json.cmake; do not edit.
#include \"${HEADER}\"

namespace ${NAMESPACE} {

namespace {
constexpr unsigned char kBytes[${size} + 1] = {
    ${bytes}0};
}  // namespace

std::string_view ${FUNCTION}() {
  return std::string_view(reinterpret_cast<const char*>(kBytes), ${size});
}

}  // namespace ${NAMESPACE}
")
