// Random (version 4) UUIDs, as text: pools and volumes are named by them.
#pragma once

#include <string>

namespace anyfs {

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from /dev/urandom.
std::string random_uuid();

// 128 random bits as 32 lowercase hex digits (snapshot guids).
std::string random_guid();

}  // namespace anyfs
