// The UCX transport of the KV transfer (kv_transfer.h); reached through its factories. Built
// only with libucx-dev (XYSERVE_HAVE_UCX).
#pragma once

#include <memory>
#include <string>

#include "cluster/kv_transfer.h"

namespace xy::cluster {

std::unique_ptr<KvTransferServer> make_ucx_kv_server(KvExportStore& store, std::string host,
                                                     int port);
Result<std::unique_ptr<KvTransferClient>> make_ucx_kv_client();

}  // namespace xy::cluster
