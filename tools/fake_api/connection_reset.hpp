#pragma once

// Resetting a connection from inside a cpp-httplib handler, which never sees its socket.

#include <string_view>

namespace bdd::fake_api {

// Finds this process's TCP socket whose local port is `local_port` and whose peer port is
// `remote_port` (the connection a request arrived on) and resets it: the peer gets an RST and
// not one byte of response. The descriptor stays open, now on a fresh unconnected socket, so the
// server's own later writes fail harmlessly and its close() releases it. Linux only (scans
// /proc/self/fd). Returns false if no such socket was found; nothing is changed then.
bool reset_connection(int local_port, int remote_port);

// Finds the connection as `reset_connection` does, writes `bytes` on it (whatever httplib would
// have sent) and closes it with a FIN after them; the descriptor is left as `reset_connection`
// leaves it. Returns false if no such socket was found.
bool send_raw_and_close(int local_port, int remote_port, std::string_view bytes);

} // namespace bdd::fake_api
