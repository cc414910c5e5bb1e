#include "connection_reset.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace bdd::fake_api {

namespace {

int port_of(const sockaddr_storage& address) {
  // memcpy rather than a cast: sockaddr_storage and sockaddr_in are unrelated types.
  if (address.ss_family == AF_INET) {
    sockaddr_in ipv4{};
    std::memcpy(&ipv4, &address, sizeof(ipv4));
    return ntohs(ipv4.sin_port);
  }
  if (address.ss_family == AF_INET6) {
    sockaddr_in6 ipv6{};
    std::memcpy(&ipv6, &address, sizeof(ipv6));
    return ntohs(ipv6.sin6_port);
  }
  return -1;
}

bool is_connection(int fd, int local_port, int remote_port) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0
      || port_of(address) != local_port) {
    return false;
  }
  length = sizeof(address);
  return getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0
         && port_of(address) == remote_port;
}

int find_socket(int local_port, int remote_port) {
  const std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc/self/fd"), &closedir);
  if (!dir) {
    return -1;
  }
  while (const dirent* entry = readdir(dir.get())) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0'
        && is_connection(static_cast<int>(fd), local_port, remote_port)) {
      return static_cast<int>(fd);
    }
  }
  return -1;
}

} // namespace

bool reset_connection(int local_port, int remote_port) {
  if (local_port <= 0 || remote_port <= 0) {
    return false;
  }
  const int fd = find_socket(local_port, remote_port);
  if (fd < 0) {
    return false;
  }
  const int placeholder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (placeholder < 0) {
    return false;
  }
  // A zero linger time turns the close that dup2() performs into an RST instead of a FIN.
  const linger abort_on_close{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  // dup2() closes the connection and reuses the descriptor number atomically, so httplib never
  // holds a dangling number that another thread could be handed by a concurrent open().
  const bool replaced = dup2(placeholder, fd) == fd;
  close(placeholder);
  return replaced;
}

bool send_raw_and_close(int local_port, int remote_port, std::string_view bytes) {
  if (local_port <= 0 || remote_port <= 0) {
    return false;
  }
  const int fd = find_socket(local_port, remote_port);
  if (fd < 0) {
    return false;
  }
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  // FIN after the bytes (no RST: the client must read them), then the same swap as above.
  shutdown(fd, SHUT_WR);
  const int placeholder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (placeholder < 0) {
    return true;
  }
  dup2(placeholder, fd);
  close(placeholder);
  return true;
}

} // namespace bdd::fake_api
