// Replication as the broker runs it (RocketMQ's HAService wiring in BrokerController): a master
// (ASYNC_MASTER / SYNC_MASTER) serves its CommitLog on the HA port (haListenPort) and tells the
// HA service of every append; a SLAVE follows the master whose HA address is haMasterAddress or,
// when that is not set, the one the name servers answer to its registration.
//
// A slave also copies its master's metadata (SlaveSynchronizer).
//
// Threading: Start/Stop from the broker; OnRegistered from the registrar's thread; master() is
// fixed after Start.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "broker_context.h"
#include "ramjet/ha/ha_client.h"
#include "ramjet/ha/ha_master.h"
#include "schedule_service.h"
#include "slave_synchronizer.h"

namespace ramjet::broker {

class Replication {
 public:
  // REQUIRES: bc and schedule outlive this object; bc->store is open.
  Replication(BrokerContext* bc, ScheduleService* schedule) : bc_(*bc), schedule_(schedule) {}
  ~Replication() { Stop(); }

  // Master: binds the HA port (an error if it is taken) and sets bc->ha_master.
  // Slave: starts following its master.
  [[nodiscard]] Status Start();
  // Before the store shuts down: waiting SYNC sends complete with SLAVE_NOT_AVAILABLE.
  void Stop();
  // A name server answered REGISTER_BROKER with its master's addresses (slaves only).
  void OnRegistered(const std::string& master_addr, const std::string& ha_server_addr);
  // The master's remoting address as the name servers last said (slaves; may be empty).
  std::string master_addr() const { return sync_ ? sync_->master_addr() : std::string(); }
  ha::HaClient* client() { return client_.get(); }
  // GET_BROKER_RUNTIME_INFO entries: brokerRole and, on a master, haSlaveCount and per slave
  // haSlave.<n> = "<addr> ackOffset=<o> behindBytes=<b> behindMs=<t> lastReportMs=<ms ago>";
  // on a slave, haMasterAddress and haConnected (the master knows the lag; a slave does not).
  void AddRuntimeInfo(std::map<std::string, std::string>* t) const;

 private:
  BrokerContext& bc_;
  ScheduleService* const schedule_;
  std::unique_ptr<ha::HaMaster> master_;
  std::unique_ptr<SlaveSynchronizer> sync_;
  std::unique_ptr<ha::HaClient> client_;
};

}  // namespace ramjet::broker
