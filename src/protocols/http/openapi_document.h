#ifndef MAMORI_PROTOCOLS_HTTP_OPENAPI_DOCUMENT_H_
#define MAMORI_PROTOCOLS_HTTP_OPENAPI_DOCUMENT_H_

#include <string_view>

namespace mamori::http {

// The HTTP API's OpenAPI 3.1 document, docs/openapi.json as it was when this
// binary was built (the build generates its definition from the file, see
// cmake/embed_json.cmake): the bytes GET /v1/openapi.json answers. Static
// storage; thread-safe.
std::string_view openapi_document();

}  // namespace mamori::http

#endif  // MAMORI_PROTOCOLS_HTTP_OPENAPI_DOCUMENT_H_
