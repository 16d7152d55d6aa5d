#ifndef MAMORI_SERVER_BUILD_COMMIT_H_
#define MAMORI_SERVER_BUILD_COMMIT_H_

namespace mamori::server {

// Written by the build (cmake/build_commit.cmake) into the build directory:
// the project's version, the source checkout's commit at build time
// ("unknown" outside a git checkout) and the compiler.
extern const char* const kBuildVersion;
extern const char* const kBuildCommit;
extern const char* const kBuildCompiler;

}  // namespace mamori::server

#endif  // MAMORI_SERVER_BUILD_COMMIT_H_
