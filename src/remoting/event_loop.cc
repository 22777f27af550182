#include "event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ramjet/base/logging.h"
#include "ramjet/base/thread_util.h"

namespace ramjet::remoting {

EventLoop::EventLoop(std::string name) : name_(std::move(name)) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || wakefd_ < 0) {
    RJ_LOG(kError, "remoting", "epoll/eventfd creation failed: %s", std::strerror(errno));
    std::abort();
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakefd_;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
}

EventLoop::~EventLoop() {
  Stop();
  ::close(wakefd_);
  ::close(epfd_);
}

void EventLoop::Start() {
  thread_ = std::thread([this] {
    SetCurrentThreadName(name_);
    thread_id_.store(std::this_thread::get_id());
    Run();
  });
}

void EventLoop::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  Wake();
  if (thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void EventLoop::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> l(mu_);
    tasks_.push_back(std::move(task));
  }
  Wake();
}

void EventLoop::Wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wakefd_, &one, sizeof(one));
  (void)n;
}

void EventLoop::Add(int fd, uint32_t events, std::function<void(uint32_t)> handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    RJ_LOG(kError, "remoting", "epoll add fd %d: %s", fd, std::strerror(errno));
    return;
  }
  handlers_[fd] = std::move(handler);
}

void EventLoop::Modify(int fd, uint32_t events) {
  if (!handlers_.count(fd)) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::Remove(int fd) {
  auto it = handlers_.find(fd);
  if (it == handlers_.end()) return;
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  graveyard_.push_back(std::move(it->second));
  handlers_.erase(it);
}

void EventLoop::Run() {
  epoll_event events[128];
  for (;;) {
    int n = ::epoll_wait(epfd_, events, 128, 1000);
    if (n < 0 && errno != EINTR) {
      RJ_LOG(kError, "remoting", "epoll_wait: %s", std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == wakefd_) {
        uint64_t v;
        while (::read(wakefd_, &v, sizeof(v)) > 0) {
        }
        continue;
      }
      auto it = handlers_.find(fd);
      if (it == handlers_.end()) continue;
      // Copy: the handler may remove itself (moving it to the graveyard).
      auto& h = it->second;
      auto keep = h;
      keep(events[i].events);
    }
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> l(mu_);
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
    graveyard_.clear();
    if (stop_.load()) {
      // Drain tasks posted by the last round (e.g. closes), then leave.
      std::vector<std::function<void()>> rest;
      {
        std::lock_guard<std::mutex> l(mu_);
        rest.swap(tasks_);
      }
      for (auto& t : rest) t();
      graveyard_.clear();
      return;
    }
  }
}

}  // namespace ramjet::remoting
