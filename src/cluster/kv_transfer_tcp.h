// The TCP transport of the KV transfer (kv_transfer.h); reached through its factories.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <memory>
#include <string>

#include "cluster/kv_transfer.h"

namespace xy::cluster {

std::unique_ptr<KvTransferServer> make_tcp_kv_server(KvExportStore& store, std::string host,
                                                     int port);
std::unique_ptr<KvTransferClient> make_tcp_kv_client();

}  // namespace xy::cluster
