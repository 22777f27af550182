// Small helpers for the threads a module starts itself.
#pragma once

#include <string_view>

namespace ramjet {

// Names the calling thread (shown by top, perf and gdb; at most 15 characters are kept).
void SetCurrentThreadName(std::string_view name);

// Lowers the calling thread's scheduling priority by `nice_delta` (Linux: per thread). For
// background work (asynchronous flush, housekeeping) that must not delay request threads when
// the cores are busy; it still gets the CPU whenever they are idle. Best effort.
void LowerCurrentThreadPriority(int nice_delta);

}  // namespace ramjet
