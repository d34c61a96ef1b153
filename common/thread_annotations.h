// Clang thread-safety annotations, and the mutex and lock that carry them.
//
// clang's -Wthread-safety checks at compile time that a field declared GUARDED_BY(m) is only
// touched with m held, that a function declared REQUIRES(m) is only called with m held, that
// one declared EXCLUDES(m) is not called with it held, and that every lock taken is released
// (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html). The analysis only knows a type is a
// lock when the type says so, and libstdc++'s std::mutex and std::lock_guard carry no such
// attributes, so a GUARDED_BY field locked through them can never be checked. The project
// therefore locks hfs::Mutex through hfs::MutexLock: thin wrappers over std::mutex whose only
// addition is the attributes (as abseil's absl::Mutex, LLVM's llvm::sys::Mutex and s3fs do).
// With gcc the macros expand to nothing and the wrappers are plain std::mutex.
//
//   mutable hfs::Mutex mutex_;
//   std::map<K, V> map_ GUARDED_BY(mutex_);
//   void evict_locked() REQUIRES(mutex_);
//   ...
//   hfs::MutexLock lock(mutex_);
//
// Waiting on a condition: use std::condition_variable_any with the Mutex itself as the lock,
// under a MutexLock, and write the predicate loop out in the caller (a predicate lambda is
// analysed as a function of its own, which does not hold the mutex):
//
//   hfs::MutexLock lock(mutex_);
//   while (!done_) cv_.wait(mutex_);  // unlocks while asleep, holds mutex_ again on return
//
// The analysis is intraprocedural and does not look into lambdas' callers: a lambda that
// touches guarded state takes the lock itself (or becomes a member function REQUIRES(m)).
#pragma once

#include <mutex>

#if defined(__clang__)
#define HFS_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define HFS_THREAD_ANNOTATION_(x)
#endif

// A type that is a lock (a "capability"); the string names its kind in diagnostics.
#define CAPABILITY(x) HFS_THREAD_ANNOTATION_(capability(x))
// An RAII type that acquires a capability in its constructor and releases it in its destructor.
#define SCOPED_CAPABILITY HFS_THREAD_ANNOTATION_(scoped_lockable)
// The field may only be read or written with the capability held.
#define GUARDED_BY(x) HFS_THREAD_ANNOTATION_(guarded_by(x))
// The pointee (not the pointer) may only be read or written with the capability held.
#define PT_GUARDED_BY(x) HFS_THREAD_ANNOTATION_(pt_guarded_by(x))
// The function must be called with the capabilities held (and returns with them held).
#define REQUIRES(...) HFS_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
// The function must be called without the capabilities held (it takes them itself).
#define EXCLUDES(...) HFS_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
// The function acquires the capabilities (no argument: `this`) and returns holding them.
#define ACQUIRE(...) HFS_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
// The function releases the capabilities (no argument: `this`, or what a scoped lock holds).
#define RELEASE(...) HFS_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
// The function tries to acquire the capabilities; its first argument is the return value
// meaning success.
#define TRY_ACQUIRE(...) HFS_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
// The function returns a reference to the capability (an accessor of a private mutex).
#define RETURN_CAPABILITY(x) HFS_THREAD_ANNOTATION_(lock_returned(x))
// Turns the analysis off for one function. Only where it truly cannot follow the locking
// (e.g. a lock taken in one callback and released in another), with a comment saying why.
#define NO_THREAD_SAFETY_ANALYSIS HFS_THREAD_ANNOTATION_(no_thread_safety_analysis)

namespace hfs {

// std::mutex with capability attributes. BasicLockable and Lockable, so std::unique_lock,
// std::scoped_lock and std::condition_variable_any accept it too (though only MutexLock, and
// direct lock()/unlock() calls, are understood by the analysis).
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mutex_.lock(); }
  void unlock() RELEASE() { mutex_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mutex_.try_lock(); }

 private:
  std::mutex mutex_;
};

// Holds a Mutex for its scope: the annotated std::lock_guard.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexLock() RELEASE() { mutex_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

}  // namespace hfs
