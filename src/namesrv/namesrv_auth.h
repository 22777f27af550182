// The name server's authentication: with a cluster credential (clusterAccessKey and
// clusterSecretKey), the requests that change what clients are told — REGISTER_BROKER,
// UNREGISTER_BROKER, PUT/DELETE_KV_CONFIG, WIPE/ADD_WRITE_PERM_OF_BROKER, DELETE_TOPIC_IN_NAMESRV,
// UPDATE_NAMESRV_CONFIG — must be signed with it (AclClientRPCHook's signature), so a stranger
// cannot register a fake broker, unregister a real one or rewrite routes. Reads stay open, as
// clients look routes up without credentials. Refusals are NO_PERMISSION (16) and one WARN line
// (at most one a second). Thread-safe: the returned function only reads its copy of the
// credential and an atomic timestamp.
#pragma once

#include <functional>
#include <string>

#include "ramjet/acl/signature.h"
#include "ramjet/base/status.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::namesrv {

// Whether `code` changes routes or KV config (needs the cluster credential).
bool IsNamesrvWrite(int32_t code);

std::function<Status(const protocol::RemotingCommand&, const std::string&)> ClusterAuthorizer(
    acl::Credentials cluster);

}  // namespace ramjet::namesrv
