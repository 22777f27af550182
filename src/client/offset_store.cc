// PushConsumer: consume offsets on the broker (clustering) or in a local file (broadcasting).
#include "push_consumer_impl.h"

namespace ramjet::client {

using protocol::RemotingCommand;
namespace rc = protocol::response_code;
namespace req = protocol::request_code;

void PushConsumer::Impl::PersistOffset(const MessageQueue& mq, bool sync) {
  int64_t off;
  std::string addr;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = offsets_.find(mq);
    if (it == offsets_.end()) return;
    off = it->second;
    auto a = master_.find(mq.broker_name);
    if (a == master_.end()) return;
    addr = a->second;
  }
  RemotingCommand u = RemotingCommand::Request(req::kUpdateConsumerOffset);
  protocol::UpdateConsumerOffsetRequestHeader{group_, mq.topic, mq.queue_id, off}.Encode(&u);
  if (sync) {
    (void)client_->InvokeSync(addr, u, 3000);
  } else {
    (void)client_->InvokeOneway(addr, u);
  }
}

void PushConsumer::Impl::PersistOffsets(bool sync) {
  if (config_.model == MessageModel::kBroadcasting) {
    SaveLocalOffsets();
    return;
  }
  std::vector<MessageQueue> mqs;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [mq, off] : offsets_) mqs.push_back(mq);
  }
  for (const auto& mq : mqs) PersistOffset(mq, sync);
}

std::string PushConsumer::Impl::LocalOffsetPath() const {
  return config_.offset_store_dir + "/" + client_id_ + "/" + group_ + "/offsets.json";
}

void PushConsumer::Impl::LoadLocalOffsets() {
  auto text = ReadFileToString(LocalOffsetPath());
  if (!text.ok()) return;
  auto file = protocol::LocalOffsetFile::Decode(*text);
  if (!file.ok()) return;
  for (const auto& [k, v] : file->offsets) local_offsets_[k] = v;
}

void PushConsumer::Impl::SaveLocalOffsets() {
  protocol::LocalOffsetFile file;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [mq, off] : offsets_) {
      std::string key = mq.topic + "@" + std::to_string(mq.queue_id) + "@" + mq.broker_name;
      local_offsets_[key] = off;
    }
    file.offsets = local_offsets_;
  }
  Status s = WriteFileAtomic(LocalOffsetPath(), file.Encode());
  if (!s.ok()) RJ_LOG(kWarn, "client", "saving local offsets: %s", s.ToString().c_str());
}

}  // namespace ramjet::client
