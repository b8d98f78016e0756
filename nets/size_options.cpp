// Size options checked key by key (see size_options.h).
#include "nets/size_options.h"

#include "engine/error.h"

namespace sr {

void check_size_options(const char* network, std::initializer_list<SizeOption> options) {
  for (const SizeOption& o : options)
    SR_CHECK(o.value >= o.least, network, ": ", o.key, " must be at least ", o.least, ", got ", o.value);
}

}  // namespace sr
