#include "probes/libpq_loader.hpp"

#include <dlfcn.h>
#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>

namespace lg::probes::libpq {
namespace {

constexpr const char* kLibrary = "libpq.so.5";

struct Loaded {
  void* handle = nullptr;
  std::string error;
};

// GnuTLS (pulled in through libldap, which libpq uses only for LDAP service lookups, never
// with TLS) initialises itself in a constructor when loaded: crypto back-ends, priorities,
// p11-kit. GNUTLS_NO_IMPLICIT_INIT=1 skips that; a library that uses GnuTLS calls
// gnutls_global_init() itself first (libldap's TLS set-up does).
void* open_without_gnutls_init() {
  if (void* already = dlopen(kLibrary, RTLD_LAZY | RTLD_NOLOAD)) return already;  // linked (tests)
  const char* name = "GNUTLS_NO_IMPLICIT_INIT";
  const bool was_set = std::getenv(name) != nullptr;
  if (!was_set) setenv(name, "1", 0);
  void* handle = dlopen(kLibrary, RTLD_LAZY | RTLD_LOCAL);
  if (!was_set) unsetenv(name);
  return handle;
}

const Loaded& loaded() {
  static const Loaded l = [] {
    Loaded r;
    r.handle = open_without_gnutls_init();
    if (!r.handle) {
      const char* why = dlerror();
      r.error = why ? why : std::string("cannot load ") + kLibrary;
    }
    return r;
  }();
  return l;
}

// The address of a libpq function. Configuration loads libpq before any probe can call it,
// so a failure here is a broken installation: say so and stop rather than crash later.
void* symbol(const char* name) {
  const Loaded& l = loaded();
  void* fn = l.handle ? dlsym(l.handle, name) : nullptr;
  if (!fn) {
    std::fprintf(stderr, "lettagate: libpq: %s\n", l.handle ? dlerror() : l.error.c_str());
    std::abort();
  }
  return fn;
}

}  // namespace

bool load(std::string* error) {
  const Loaded& l = loaded();
  if (!l.handle && error) *error = l.error;
  return l.handle != nullptr;
}

}  // namespace lg::probes::libpq

// Each forwarder resolves its function once (a thread-safe static) and calls it.
#define LG_LIBPQ_FORWARD(ret, name, params, args)                                                 \
  extern "C" ret name params {                                                                    \
    static const auto real = reinterpret_cast<decltype(&name)>(lg::probes::libpq::symbol(#name)); \
    return real args;                                                                             \
  }

LG_LIBPQ_FORWARD(PQconninfoOption*, PQconninfoParse, (const char* conninfo, char** errmsg), (conninfo, errmsg))
LG_LIBPQ_FORWARD(void, PQconninfoFree, (PQconninfoOption * options), (options))
LG_LIBPQ_FORWARD(void, PQfreemem, (void* ptr), (ptr))
LG_LIBPQ_FORWARD(PGconn*, PQconnectStartParams,
                 (const char* const* keywords, const char* const* values, int expand_dbname),
                 (keywords, values, expand_dbname))
LG_LIBPQ_FORWARD(PostgresPollingStatusType, PQconnectPoll, (PGconn * conn), (conn))
LG_LIBPQ_FORWARD(void, PQfinish, (PGconn * conn), (conn))
LG_LIBPQ_FORWARD(ConnStatusType, PQstatus, (const PGconn* conn), (conn))
LG_LIBPQ_FORWARD(int, PQsocket, (const PGconn* conn), (conn))
LG_LIBPQ_FORWARD(char*, PQdb, (const PGconn* conn), (conn))
LG_LIBPQ_FORWARD(char*, PQuser, (const PGconn* conn), (conn))
LG_LIBPQ_FORWARD(char*, PQpass, (const PGconn* conn), (conn))
LG_LIBPQ_FORWARD(char*, PQhost, (const PGconn* conn), (conn))
LG_LIBPQ_FORWARD(char*, PQport, (const PGconn* conn), (conn))
LG_LIBPQ_FORWARD(char*, PQerrorMessage, (const PGconn* conn), (conn))
LG_LIBPQ_FORWARD(PGVerbosity, PQsetErrorVerbosity, (PGconn * conn, PGVerbosity verbosity), (conn, verbosity))
LG_LIBPQ_FORWARD(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * conn, PQnoticeProcessor proc, void* arg),
                 (conn, proc, arg))
LG_LIBPQ_FORWARD(PQnoticeReceiver, PQsetNoticeReceiver, (PGconn * conn, PQnoticeReceiver proc, void* arg),
                 (conn, proc, arg))
LG_LIBPQ_FORWARD(PGTransactionStatusType, PQtransactionStatus, (const PGconn* conn), (conn))
LG_LIBPQ_FORWARD(int, PQsetnonblocking, (PGconn * conn, int arg), (conn, arg))
LG_LIBPQ_FORWARD(int, PQsendQuery, (PGconn * conn, const char* query), (conn, query))
LG_LIBPQ_FORWARD(int, PQflush, (PGconn * conn), (conn))
LG_LIBPQ_FORWARD(int, PQconsumeInput, (PGconn * conn), (conn))
LG_LIBPQ_FORWARD(int, PQisBusy, (PGconn * conn), (conn))
LG_LIBPQ_FORWARD(PGresult*, PQgetResult, (PGconn * conn), (conn))
LG_LIBPQ_FORWARD(ExecStatusType, PQresultStatus, (const PGresult* res), (res))
LG_LIBPQ_FORWARD(char*, PQresultErrorMessage, (const PGresult* res), (res))
LG_LIBPQ_FORWARD(char*, PQresultErrorField, (const PGresult* res, int fieldcode), (res, fieldcode))
LG_LIBPQ_FORWARD(int, PQntuples, (const PGresult* res), (res))
LG_LIBPQ_FORWARD(int, PQnfields, (const PGresult* res), (res))
LG_LIBPQ_FORWARD(char*, PQgetvalue, (const PGresult* res, int tup_num, int field_num), (res, tup_num, field_num))
LG_LIBPQ_FORWARD(int, PQgetisnull, (const PGresult* res, int tup_num, int field_num), (res, tup_num, field_num))
LG_LIBPQ_FORWARD(void, PQclear, (PGresult * res), (res))
