// Work split into parts that the calling thread and idle workers of a thread
// pool run together: each part runs once, on whichever thread claims it first.
// The caller never waits for a worker that has not started — when the workers
// are busy (a flush preparing chunks), it runs every part itself — only for
// parts a worker has claimed.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

#include "util/mutex.h"
#include "util/thread_pool.h"

namespace anyfs {

// Runs part(0) … part(parts - 1) on this thread and on up to `helpers`
// workers of `pool`; returns when every part has run.
void share_work(ThreadPool& pool, std::size_t helpers, std::size_t parts, const std::function<void(std::size_t)>& part);

}  // namespace anyfs
