#include "cluster/kv_transfer.h"

#include "cluster/kv_transfer_tcp.h"
#ifdef XYSERVE_HAVE_UCX
#include "cluster/kv_transfer_ucx.h"
#endif

namespace xy::cluster {

std::string_view kv_transport_name(KvTransport t) {
  return t == KvTransport::kUcx ? "ucx" : "tcp";
}

bool kv_transport_ucx_built() {
#ifdef XYSERVE_HAVE_UCX
  return true;
#else
  return false;
#endif
}

KvTransport default_kv_transport() {
  return kv_transport_ucx_built() ? KvTransport::kUcx : KvTransport::kTcp;
}

Result<KvTransport> parse_kv_transport(std::string_view name) {
  if (name == "tcp") return KvTransport::kTcp;
  if (name == "ucx") {
    if (!kv_transport_ucx_built())
      return unsupported("KV transport 'ucx': this xyserve was built without UCX (libucx-dev)");
    return KvTransport::kUcx;
  }
  return invalid_argument("KV transport must be 'ucx' or 'tcp', got '" + std::string(name) + "'");
}

std::unique_ptr<KvTransferServer> make_kv_transfer_server(KvTransport transport,
                                                          KvExportStore& store, std::string host,
                                                          int port) {
#ifdef XYSERVE_HAVE_UCX
  if (transport == KvTransport::kUcx) return make_ucx_kv_server(store, std::move(host), port);
#endif
  (void)transport;
  return make_tcp_kv_server(store, std::move(host), port);
}

Result<std::unique_ptr<KvTransferClient>> make_kv_transfer_client(KvTransport transport) {
#ifdef XYSERVE_HAVE_UCX
  if (transport == KvTransport::kUcx) return make_ucx_kv_client();
#endif
  (void)transport;
  return make_tcp_kv_client();
}

}  // namespace xy::cluster
