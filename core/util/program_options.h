// Boost.Program_options for the command lines of renderq-fcgi, renderq-worker
// and renderqctl. GCC 12's -Wnull-dereference misfires on the std::string copy
// inside Boost's typed_value<std::string>::notify() (the value is always set
// before notify); the warning is silenced for Boost's code only.
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/program_options.hpp>
#pragma GCC diagnostic pop
