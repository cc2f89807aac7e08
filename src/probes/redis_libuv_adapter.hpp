#pragma once
// Attaches a hiredis async context to the libuv loop. Our own version of hiredis's
// <hiredis/adapters/libuv.h> (credit: the hiredis authors, BSD-3-Clause) carrying the fix of
// later hiredis releases for a connection refused before it was established: see the .cpp.
// Nothing in lettagate includes <hiredis/adapters/libuv.h>.
//
// Lifetime: the adapter's state (one uv_poll_t on the context's socket, a HandleWrap) belongs
// to the context; hiredis calls its cleanup when it frees the context, which closes the poll
// handle; the state is freed in that handle's close callback, never earlier.
#include <hiredis/async.h>
#include <uv.h>

namespace lg::probes::redis_uv {

// REDIS_OK, or REDIS_ERR when the context is already attached or its socket cannot be polled
// (the caller still owns the context then and frees it with redisAsyncFree).
int attach(redisAsyncContext* ac, uv_loop_t* loop);

}  // namespace lg::probes::redis_uv
