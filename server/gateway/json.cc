// Boost.JSON used header-only: this is the one translation unit that compiles its
// implementation; every other file includes <boost/json.hpp> only.

#include <boost/json/src.hpp>
