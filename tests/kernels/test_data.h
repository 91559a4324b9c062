// Where the kernels tests find their data files: scenes, golden images and
// references, named by their path in the source tree.
#pragma once

#include <cstdlib>
#include <string>

namespace renderq::testing {

// RENDERQ_TEST_DATA_DIR when it is set, else the source tree the binary was
// built from. The GPU kit (bench/gpu/kit) runs this binary on another machine
// without the source tree: it ships the files in a folder laid out as in the
// source tree and points the variable at it.
inline std::string TestDataPath(const std::string& relative_path) {
  const char* dir = std::getenv("RENDERQ_TEST_DATA_DIR");
  const std::string root = dir != nullptr && *dir != '\0' ? dir : RENDERQ_SOURCE_DIR;
  return root + "/" + relative_path;
}

}  // namespace renderq::testing
