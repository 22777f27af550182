// Controller mode (enableControllerMode) as the broker runs it: before the store opens, the
// member joins its group through the FailoverController and takes the role the group gives it
// (master with brokerId 0, or slave of the elected master with its own brokerId, its CommitLog
// first cut at the new term's start). A later role change restarts the broker (RestartHook).
//
// Threading: JoinGroup from BrokerController::Start; the hooks run on the controller thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "broker_context.h"
#include "ramjet/broker/broker.h"
#include "ramjet/controller/failover_controller.h"
#include "replication.h"

namespace ramjet::broker {

// Joins the group and rewrites config into the role it got (brokerId, brokerRole,
// haMasterAddress, the store's replica flag and cut point).
Result<std::unique_ptr<controller::FailoverController>> JoinGroup(BrokerConfig* config);

controller::FailoverController::Hooks ControllerHooks(BrokerContext* bc, Replication* replication,
                                                      RestartHook on_restart);

// A member that became master: topics in its replicated log that its copy of the old master's
// topic table lacks (created in the seconds before the failover; the copy is taken every 10 s)
// get a configuration with as many queues as the log holds, readable and writable.
Status AdoptReplicatedTopics(BrokerContext* bc);

// GET_BROKER_RUNTIME_INFO: controllerRole, controllerEpoch, controllerWritable, syncStateSet.
void AddControllerRuntimeInfo(const controller::FailoverController& c,
                              std::map<std::string, std::string>* t);

}  // namespace ramjet::broker
