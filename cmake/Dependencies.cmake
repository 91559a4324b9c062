# Third-party libraries, all from Debian 12 packages (scripts/install-deps lists them).

if(RENDERQ_STATIC_LINK)
  # The GPU kit (bench/gpu/kit) runs on machines that have glibc and the NVIDIA
  # driver but none of these packages: take the archives the -dev packages ship
  # (libpng16.a, libz.a, libsqlite3.a, Boost's and OpenSSL's .a) instead of the
  # shared objects, for the packages found here (FindCUDAToolkit, later, needs
  # the shared runtime to exist). glibc stays dynamic; the static CUDA runtime
  # dlopens libcuda.
  set(renderq_shared_suffixes ${CMAKE_FIND_LIBRARY_SUFFIXES})
  set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
  set(Boost_USE_STATIC_LIBS ON)
  set(OPENSSL_USE_STATIC_LIBS ON)
endif()
find_package(Threads REQUIRED)
find_package(SQLite3 REQUIRED)
if(RENDERQ_POSTGRES)
  find_package(PostgreSQL 15 REQUIRED)  # libpq only (libpq-dev); the server is for tests
endif()
find_package(PNG REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(nlohmann_json 3.10 REQUIRED)
# Webhook deliveries (libcurl4-openssl-dev): the multi interface, CURLOPT_OPENSOCKETFUNCTION.
find_package(CURL 7.85 REQUIRED)
# valijson (libvalijson-dev): header-only JSON Schema checks of kind inputs.
find_path(VALIJSON_INCLUDE_DIR valijson/validator.hpp REQUIRED)
add_library(valijson::valijson INTERFACE IMPORTED)
set_target_properties(valijson::valijson PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES ${VALIJSON_INCLUDE_DIR})
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

if(RENDERQ_STATIC_LINK)
  set(CMAKE_FIND_LIBRARY_SUFFIXES ${renderq_shared_suffixes})
endif()
