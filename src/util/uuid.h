// Random (version 4) UUIDs, as text: pools and volumes are named by them.
#pragma once

#include <string>

namespace anyfs {

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from /dev/urandom.
std::string random_uuid();

}  // namespace anyfs
