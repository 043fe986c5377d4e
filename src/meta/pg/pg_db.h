// One connection to PostgreSQL through libpq, as the PostgreSQL record stores
// use it (issue 19): statements prepared once per connection and run with
// parameters and results in binary form (no quoting, no text parsing of
// numbers), errors mapped onto Errc by SQLSTATE — a serialization failure or
// deadlock is Again (the transaction may be run again from its start), a
// unique violation Exists, a full disk NoSpace, a lost connection Io. Only src/meta/pg uses it: the SQL stays with the
// stores that own it. Not thread-safe: one thread uses a connection at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "anyfs/error.h"

struct pg_conn;
struct pg_result;

namespace anyfs::pg {

// A parameter: a 64-bit integer (bigint), bytes (bytea) or text.
struct Bytes {
  std::string_view data;
};
using Param = std::variant<std::int64_t, Bytes, std::string_view>;

// The rows a statement returned; columns read by index, in binary form.
class Rows {
 public:
  Rows() = default;
  explicit Rows(pg_result* result);
  Rows(Rows&& other) noexcept;
  Rows& operator=(Rows&& other) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  ~Rows();

  int size() const;
  bool empty() const { return size() == 0; }
  bool is_null(int row, int col) const;
  // smallint, integer, bigint or boolean, as a 64-bit integer (0 for NULL).
  std::int64_t i64(int row, int col) const;
  std::uint64_t u64(int row, int col) const { return static_cast<std::uint64_t>(i64(row, col)); }
  // bytea or text: the bytes as stored (empty for NULL).
  std::string_view bytes(int row, int col) const;
  std::string str(int row, int col) const { return std::string(bytes(row, col)); }
  // The number of rows an UPDATE, DELETE or INSERT changed.
  std::uint64_t affected() const;

 private:
  pg_result* result_ = nullptr;
};

class Db {
 public:
  // Connects to a libpq connection string or URL ("postgresql://…").
  // Errors: Io naming the server, with libpq's reason.
  static Result<std::unique_ptr<Db>> connect(const std::string& url);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs SQL without parameters (one or more statements).
  Result<void> exec(std::string_view sql);
  // Runs one statement with parameters $1, $2…, prepared on this connection
  // at its first use (the parameters' types fixed by that first call).
  Result<Rows> run(const std::string& sql, const std::vector<Param>& params = {});

  bool in_transaction() const;
  // The server this connection talks to, for messages ("127.0.0.1:54329/anyfs").
  const std::string& where() const { return where_; }

 private:
  explicit Db(pg_conn* conn);
  Error error_of(pg_result* result, std::string_view what) const;

  pg_conn* conn_ = nullptr;
  std::string where_;
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL → statement name
};

// Whether an error is one a transaction retried from its start may not meet
// again (serialization failure, deadlock).
bool retryable(const Error& error);

}  // namespace anyfs::pg
