// Owning pointers for OpenSSL objects: unique_ptr with a deleter calling the object's own free
// function, so every handle is released on every path.
//
//   OpenSslPtr<SSL_CTX, SSL_CTX_free> ctx(SSL_CTX_new(TLS_server_method()));
//
// Internal to the webhook library (tls.cpp, server.cpp). Thread safety: as unique_ptr.
#pragma once

#include <memory>

namespace latticeguard::webhook {

template <auto Free>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

template <typename T, auto Free>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<Free>>;

}  // namespace latticeguard::webhook
