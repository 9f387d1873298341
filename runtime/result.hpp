#pragma once
// Result<T>: a value or an Error, the way runtime/ reports failures.
//
// Infrastructure failures (the disk is full, the database is read-only, a
// stored row does not decode) and refusals the caller must handle (a
// version conflict, an unknown request) travel as values across every
// runtime interface; no exception escapes one. `code` lets callers branch
// (retry a conflict, give up on `invalid`) without parsing `message`.

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace portcullis::runtime {

enum class ErrorCode {
  io,         // the database or the file system failed
  conflict,   // optimistic concurrency: someone else moved the row first
  not_found,  // no such request / outbox row
  invalid,    // the caller's input is malformed; nothing was stored
  corrupt,    // stored data does not decode or the schema is unknown
  closed,     // the store is shutting down
};

struct Error {
  ErrorCode code = ErrorCode::io;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : data_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: ok().
  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Precondition: !ok().
  const Error& error() const { return std::get<1>(data_); }

 private:
  std::variant<T, Error> data_;
};

// A Result with no value: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::io: return "io";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::invalid: return "invalid";
    case ErrorCode::corrupt: return "corrupt";
    case ErrorCode::closed: return "closed";
  }
  return "io";
}

}  // namespace portcullis::runtime
