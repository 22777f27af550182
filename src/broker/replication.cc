#include "replication.h"

#include "ramjet/base/clock.h"
#include "ramjet/base/logging.h"

namespace ramjet::broker {

Status Replication::Start() {
  const BrokerConfig& config = bc_.config();
  if (config.IsSlave()) {
    ha::HaClientOptions o;
    o.master_address = config.ha_master_address;
    o.heartbeat_interval_ms = config.ha_send_heartbeat_interval;
    o.housekeeping_interval_ms = config.ha_housekeeping_interval;
    o.max_frame_body = config.store.commit_log_segment_size;
    o.bind_ip = config.broker_ip1;
    client_ = std::make_unique<ha::HaClient>(o, bc_.store.get());
    client_->Start();
    sync_ = std::make_unique<SlaveSynchronizer>(&bc_, schedule_);
    sync_->Start();
    return Status::OK();
  }
  ha::HaMasterOptions o;
  o.listen_ip = config.listen_address;
  o.port = config.ha_listen_port;
  o.transfer_batch_size = config.ha_transfer_batch_size;
  o.heartbeat_interval_ms = config.ha_send_heartbeat_interval;
  o.housekeeping_interval_ms = config.ha_housekeeping_interval;
  o.slave_fallbehind_max = config.ha_slave_fallbehind_max;
  o.segment_size = config.store.commit_log_segment_size;
  master_ = std::make_unique<ha::HaMaster>(o, bc_.store.get());
  bc_.store->SetAppendListener([m = master_.get()](int64_t end) { m->NotifyData(end); });
  RJ_RETURN_IF_ERROR(master_->Start());
  bc_.ha_master = master_.get();
  return Status::OK();
}

void Replication::Stop() {
  if (sync_) sync_->Stop();
  if (client_) client_->Stop();
  if (master_) master_->Stop();
}

void Replication::OnRegistered(const std::string& master_addr, const std::string& ha_server_addr) {
  if (!client_) return;
  sync_->SetMasterAddr(master_addr);
  // haMasterAddress, when set, wins over what the name servers say (as in RocketMQ).
  // In controller mode the master's HA address comes from the controller only.
  if (bc_.config().ha_master_address.empty() && !bc_.config().enable_controller_mode &&
      !ha_server_addr.empty()) {
    client_->SetMasterAddress(ha_server_addr);
  }
}

void Replication::AddRuntimeInfo(std::map<std::string, std::string>* t) const {
  (*t)["brokerRole"] = bc_.config().broker_role;
  const int64_t max = bc_.store->MaxPhysicalOffset().value();
  if (master_) {
    const auto slaves = master_->Slaves();
    (*t)["haSlaveCount"] = std::to_string(slaves.size());
    const int64_t now = NowMillis();
    for (size_t i = 0; i < slaves.size(); ++i) {
      const auto& s = slaves[i];
      const int64_t behind = s.acked_offset < 0 ? max : std::max<int64_t>(0, max - s.acked_offset);
      const int64_t behind_ms = behind == 0 ? 0 : (s.caught_up_ms > 0 ? now - s.caught_up_ms : -1);
      (*t)["haSlave." + std::to_string(i)] =
          s.address + " ackOffset=" + std::to_string(s.acked_offset) +
          " behindBytes=" + std::to_string(behind) + " behindMs=" + std::to_string(behind_ms) +
          " lastReportMs=" + std::to_string(s.last_report_ms > 0 ? now - s.last_report_ms : -1);
    }
  }
  if (client_) {
    (*t)["haMasterAddress"] = client_->master_address();
    (*t)["haConnected"] = client_->connected() ? "true" : "false";
  }
}

}  // namespace ramjet::broker
