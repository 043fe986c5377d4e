// Clang's thread-safety attributes (-Wthread-safety): lock rules written where
// the compiler checks them. The clang build (scripts/fuzz, scripts/thread-check)
// turns a broken rule into an error; other compilers see nothing.
#pragma once

#if defined(__clang__)
#define ANYFS_TSA(x) __attribute__((x))
#else
#define ANYFS_TSA(x)
#endif

// A type that is a lock.
#define CAPABILITY(name) ANYFS_TSA(capability(name))
// An object that holds a lock for its lifetime (MutexLock).
#define SCOPED_CAPABILITY ANYFS_TSA(scoped_lockable)
// The member is read and written only with the lock held.
#define GUARDED_BY(mu) ANYFS_TSA(guarded_by(mu))
// What the pointer points to is read and written only with the lock held.
#define PT_GUARDED_BY(mu) ANYFS_TSA(pt_guarded_by(mu))
// The caller holds the lock.
#define REQUIRES(...) ANYFS_TSA(requires_capability(__VA_ARGS__))
// The caller holds the lock, shared at least (it only reads what it guards).
#define REQUIRES_SHARED(...) ANYFS_TSA(requires_shared_capability(__VA_ARGS__))
// The caller must not hold the lock (the function takes it).
#define EXCLUDES(...) ANYFS_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) ANYFS_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) ANYFS_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) ANYFS_TSA(release_shared_capability(__VA_ARGS__))
#define RELEASE(...) ANYFS_TSA(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) ANYFS_TSA(try_acquire_capability(__VA_ARGS__))
// Tells the analysis the lock is held where it cannot see why.
#define ASSERT_CAPABILITY(x) ANYFS_TSA(assert_capability(x))
#define RETURN_CAPABILITY(x) ANYFS_TSA(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS ANYFS_TSA(no_thread_safety_analysis)
