// EventLoop: one epoll thread. Private to the remoting module.
// Registration, modification and removal of fds happen on the loop thread only; other threads
// use Post(). Handlers removed while an event batch is being processed are kept alive until the
// batch ends.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace ramjet::remoting {

class EventLoop {
 public:
  explicit EventLoop(std::string name);
  ~EventLoop();
  void Start();
  // Runs queued tasks, then stops and joins. Idempotent.
  void Stop();
  void Post(std::function<void()> task);
  bool InLoopThread() const { return std::this_thread::get_id() == thread_id_.load(); }

  // Loop thread only.
  void Add(int fd, uint32_t events, std::function<void(uint32_t)> handler);
  void Modify(int fd, uint32_t events);
  void Remove(int fd);

 private:
  void Run();
  void Wake();
  std::string name_;
  int epfd_ = -1;
  int wakefd_ = -1;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;
  std::unordered_map<int, std::function<void(uint32_t)>> handlers_;
  std::vector<std::function<void(uint32_t)>> graveyard_;
};

}  // namespace ramjet::remoting
