#include "meta/pg/pg_db.h"

#include <endian.h>
#include <fmt/format.h>
#include <libpq-fe.h>

#include <cstring>

namespace anyfs::pg {
namespace {

// Type OIDs of the built-in types used (pg_type.h).
constexpr Oid k_bytea = 17, k_int8 = 20, k_text = 25;

std::string trimmed(const char* message) {
  std::string out = message != nullptr ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

Rows::Rows(pg_result* result) : result_(result) {}
Rows::Rows(Rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
Rows::~Rows() {
  if (result_ != nullptr) PQclear(result_);
}

int Rows::size() const { return result_ == nullptr ? 0 : PQntuples(result_); }
bool Rows::is_null(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }

std::int64_t Rows::i64(int row, int col) const {
  if (is_null(row, col)) return 0;
  const char* v = PQgetvalue(result_, row, col);
  switch (PQgetlength(result_, row, col)) {
    case 8: {
      std::uint64_t be;
      std::memcpy(&be, v, 8);
      return static_cast<std::int64_t>(be64toh(be));
    }
    case 4: {
      std::uint32_t be;
      std::memcpy(&be, v, 4);
      return static_cast<std::int32_t>(be32toh(be));
    }
    case 2: {
      std::uint16_t be;
      std::memcpy(&be, v, 2);
      return static_cast<std::int16_t>(be16toh(be));
    }
    case 1: return v[0] != 0;
    default: return 0;
  }
}

std::string_view Rows::bytes(int row, int col) const {
  if (is_null(row, col)) return {};
  return {PQgetvalue(result_, row, col), static_cast<std::size_t>(PQgetlength(result_, row, col))};
}

std::uint64_t Rows::affected() const {
  const char* n = result_ == nullptr ? nullptr : PQcmdTuples(result_);
  return n == nullptr || *n == '\0' ? 0 : std::strtoull(n, nullptr, 10);
}

Db::Db(pg_conn* conn) : conn_(conn) {
  where_ = fmt::format("{}:{}/{}", PQhost(conn_), PQport(conn_), PQdb(conn_));
}

Db::~Db() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Result<std::unique_ptr<Db>> Db::connect(const std::string& url) {
  pg_conn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return fail(Errc::Io, url, "out of memory connecting to PostgreSQL");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return fail(Errc::Io, url, "cannot connect to PostgreSQL: " + why);
  }
  // No notices on stderr. (Errors are told apart by SQLSTATE, not by their
  // words, so the server's message language does not matter — and setting
  // lc_messages would need a superuser.)
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  std::unique_ptr<Db> db(new Db(conn));
  ANYFS_CHECK(db->exec("SET client_min_messages = warning"));
  return db;
}

Error Db::error_of(pg_result* result, std::string_view what) const {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = trimmed(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  if (const auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);
  if (message.starts_with("ERROR:  ")) message.erase(0, 8);
  const std::string_view code = state != nullptr ? state : "";
  Errc errc = Errc::Io;
  if (code == "40001" || code == "40P01") errc = Errc::Again;
  else if (code == "23505") errc = Errc::Exists;
  else if (code == "53100") errc = Errc::NoSpace;
  else if (code.starts_with("08") || PQstatus(conn_) == CONNECTION_BAD)
    message = "lost the connection to PostgreSQL: " + message;
  return Error(errc, where_, fmt::format("{}: {}", what.substr(0, 60), message));
}

Result<void> Db::exec(std::string_view sql) {
  std::string text(sql);
  pg_result* r = PQexec(conn_, text.c_str());
  const auto status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error e = error_of(r, sql);
    if (r != nullptr) PQclear(r);
    return std::unexpected(std::move(e));
  }
  PQclear(r);
  return {};
}

Result<Rows> Db::run(const std::string& sql, const std::vector<Param>& params) {
  // Parameters in binary: integers big-endian, bytes as they are.
  std::vector<std::uint64_t> ints(params.size());
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size()), formats(params.size(), 1);
  std::vector<Oid> types(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
      ints[i] = htobe64(static_cast<std::uint64_t>(*n));
      values[i] = reinterpret_cast<const char*>(&ints[i]);
      lengths[i] = 8;
      types[i] = k_int8;
    } else if (const auto* b = std::get_if<Bytes>(&params[i])) {
      values[i] = b->data.data() != nullptr ? b->data.data() : "";
      lengths[i] = static_cast<int>(b->data.size());
      types[i] = k_bytea;
    } else {
      const auto& t = std::get<std::string_view>(params[i]);
      values[i] = t.data() != nullptr ? t.data() : "";
      lengths[i] = static_cast<int>(t.size());
      types[i] = k_text;
    }
  }
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = fmt::format("s{}", prepared_.size());
    pg_result* r = PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(params.size()), types.data());
    if (r == nullptr || PQresultStatus(r) != PGRES_COMMAND_OK) {
      Error e = error_of(r, sql);
      if (r != nullptr) PQclear(r);
      return std::unexpected(std::move(e));
    }
    PQclear(r);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  pg_result* r = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()), values.data(),
                                lengths.data(), formats.data(), 1);
  const auto status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error e = error_of(r, sql);
    if (r != nullptr) PQclear(r);
    return std::unexpected(std::move(e));
  }
  return Rows(r);
}

bool Db::in_transaction() const {
  const auto s = PQtransactionStatus(conn_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

bool retryable(const Error& error) { return error.code == Errc::Again; }

}  // namespace anyfs::pg
