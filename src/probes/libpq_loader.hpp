#pragma once
// libpq is loaded at run time (dlopen) when the postgres probe is made, not linked.
// Linked, it maps libpq and everything it pulls in (OpenSSL, GSSAPI/Kerberos, LDAP and with
// it GnuTLS, p11-kit, ...) into every lettagate and runs their initialisers: about 5 MiB
// resident, also in deployments that never probe PostgreSQL.
//
// libpq_loader.cpp defines the libpq functions lettagate calls (libpq-fe.h still declares
// them); each forwards to the loaded library, loading it on first use.
#include <string>

namespace lg::probes::libpq {

// Loads libpq.so.5 once (later calls return the first result); false with the loader's
// message when it cannot be loaded. Call it while the process is single-threaded (the DSN check
// before `serve` or `wait` starts, probes/postgres_dsn.cpp): it sets an environment variable
// around the load.
bool load(std::string* error);

}  // namespace lg::probes::libpq
