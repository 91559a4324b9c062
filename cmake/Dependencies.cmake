# Third-party libraries, all from Debian 12 packages (scripts/install-deps lists them).
find_package(Threads REQUIRED)
find_package(SQLite3 REQUIRED)
if(RENDERQ_POSTGRES)
  find_package(PostgreSQL 15 REQUIRED)  # libpq only (libpq-dev); the server is for tests
endif()
find_package(PNG REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(nlohmann_json 3.10 REQUIRED)
# Boost.Test only for the suites: a service build (scripts/run, -DRENDERQ_TESTS=OFF)
# needs no test package.
if(RENDERQ_TESTS)
  find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)
endif()

# libfcgi ships no CMake or pkg-config files.
find_path(FCGI_INCLUDE_DIR fcgiapp.h REQUIRED)
find_library(FCGI_LIBRARY fcgi REQUIRED)
add_library(fcgi::fcgi UNKNOWN IMPORTED)
set_target_properties(fcgi::fcgi PROPERTIES
  IMPORTED_LOCATION ${FCGI_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${FCGI_INCLUDE_DIR})
