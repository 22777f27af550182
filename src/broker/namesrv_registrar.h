// Registration with the name servers (RocketMQ's BrokerOuterAPI as the broker controller uses
// it): REGISTER_BROKER (103) to every name server with the topic snapshot, periodically and
// whenever topics change, and UNREGISTER_BROKER (104) at shutdown.
//
// Threading: Trigger() may be called from any thread; it queues one registration on the
// registrar's own single-thread executor (a full queue drops it: one is already pending).
// Registrations are serialized (register_mu_) so an older topic snapshot never overtakes a
// newer one.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker_context.h"
#include "ramjet/base/mutex.h"
#include "ramjet/remoting/remoting.h"
#include "ramjet/remoting/thread_pool.h"

namespace ramjet::broker {

class NamesrvRegistrar {
 public:
  // REQUIRES: bc outlives the registrar.
  explicit NamesrvRegistrar(BrokerContext* bc);
  ~NamesrvRegistrar();

  // Starts the outgoing client; Trigger() does nothing before.
  void Start();
  // Queues a registration (asynchronous).
  void Trigger();
  // Registers now, on the calling thread.
  void RegisterNow() RJ_EXCLUDES(register_mu_);
  // Unregisters from every name server and stops the client and the executor.
  void Shutdown();
  // Called after each accepted registration with the masterAddr and haServerAddr the name
  // server answered (empty for a master). REQUIRES: set before Start.
  void set_on_registered(std::function<void(const std::string&, const std::string&)> f) {
    on_registered_ = std::move(f);
  }

  // The topic's route from the first name server that knows it (GET_ROUTEINFO_BY_TOPIC), on the
  // calling thread; kNotFound when none does, kUnavailable before Start or without name servers.
  Result<protocol::TopicRouteData> QueryRoute(const std::string& topic, int timeout_ms);

 private:
  std::vector<std::string> NameServers() const;
  // A request carrying the broker's identity (REGISTER_BROKER, UNREGISTER_BROKER headers).
  protocol::RemotingCommand IdentifiedRequest(int32_t code) const;

  BrokerContext& bc_;
  std::unique_ptr<remoting::RemotingClient> client_;
  remoting::ThreadPool pool_{"ns-register", 1, 2};
  std::atomic<bool> started_{false};
  std::function<void(const std::string&, const std::string&)> on_registered_;
  Mutex register_mu_;
};

}  // namespace ramjet::broker
