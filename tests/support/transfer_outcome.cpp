#include "tests/support/transfer_outcome.h"

#include "common/error.h"
#include "vo/http_transport.h"

namespace hfs::test {

void DoneCounter::add() {
  MutexLock lock(mutex_);
  ++count_;
  changed_.notify_all();
}

bool DoneCounter::wait_for(int count) {
  const auto give_up = std::chrono::steady_clock::now() + kLatchLimit;
  MutexLock lock(mutex_);
  while (count_ < count) {
    if (changed_.wait_until(mutex_, give_up) == std::cv_status::timeout) return count_ >= count;
  }
  return true;
}

void Outcome::on_headers(const vo::ResponseHead& head) {
  MutexLock lock(mutex_);
  ++heads_;
  head_ = head;
}

void Outcome::on_body(std::string_view bytes) {
  MutexLock lock(mutex_);
  ++body_calls_;
  if (heads_ == 0) body_before_head_ = true;
  body_.append(bytes);
}

void Outcome::on_done(std::exception_ptr error) {
  {
    MutexLock lock(mutex_);
    ++dones_;
    error_ = std::move(error);
    changed_.notify_all();
  }
  if (counter_) counter_->add();
}

bool Outcome::wait_done() {
  const auto give_up = std::chrono::steady_clock::now() + kLatchLimit;
  MutexLock lock(mutex_);
  while (dones_ == 0) {
    if (changed_.wait_until(mutex_, give_up) == std::cv_status::timeout) return dones_ > 0;
  }
  return true;
}

int Outcome::dones() {
  MutexLock lock(mutex_);
  return dones_;
}

int Outcome::heads() {
  MutexLock lock(mutex_);
  return heads_;
}

int Outcome::body_calls() {
  MutexLock lock(mutex_);
  return body_calls_;
}

bool Outcome::body_before_head() {
  MutexLock lock(mutex_);
  return body_before_head_;
}

vo::ResponseHead Outcome::head() {
  MutexLock lock(mutex_);
  return head_;
}

std::string Outcome::body() {
  MutexLock lock(mutex_);
  return body_;
}

int Outcome::errnum() {
  MutexLock lock(mutex_);
  if (!error_) return 0;
  try {
    std::rethrow_exception(error_);
  } catch (const Error& error) {
    return error.errnum();
  } catch (...) {
    return -1;
  }
}

bool Outcome::transient() {
  MutexLock lock(mutex_);
  if (!error_) return false;
  try {
    std::rethrow_exception(error_);
  } catch (const vo::TransientError&) {
    return true;
  } catch (...) {
    return false;
  }
}

vo::TransferCallbacks record(const OutcomePtr& outcome) {
  vo::TransferCallbacks callbacks;
  callbacks.on_headers = [outcome](const vo::ResponseHead& head) {
    outcome->on_headers(head);
    return true;
  };
  callbacks.on_body = [outcome](std::string_view bytes) {
    outcome->on_body(bytes);
    return true;
  };
  callbacks.on_done = [outcome](std::exception_ptr error) { outcome->on_done(std::move(error)); };
  return callbacks;
}

}  // namespace hfs::test
