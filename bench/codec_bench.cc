// codec_bench: the remoting header codec on a send's path (Google Benchmark). A Java producer's
// SEND_MESSAGE_V2 request is decoded into its typed header, and the broker's answer (a send
// response header with a message id) is encoded into a frame. Sizes and fields as Apache's Java
// client 4.9 writes them: one-letter field names, properties with \u0001/\u0002 separators.
//
//   codec_bench [--benchmark_repetitions=5 --benchmark_report_aggregates_only=true]
#include <benchmark/benchmark.h>

#include <string>

#include "ramjet/base/coding.h"
#include "ramjet/protocol/headers.h"
#include "ramjet/protocol/remoting_command.h"

namespace ramjet::protocol {
namespace {

std::string SendRequestFrame() {
  RemotingCommand cmd = RemotingCommand::Request(310);
  cmd.version = 433;  // V4_9_8
  SendMessageRequestHeader h;
  h.producer_group = "please_rename_unique_group_name";
  h.topic = "BenchmarkTopicOrders";
  h.queue_id = 3;
  h.sys_flag = 0;
  h.born_timestamp = 1733616000123;
  h.properties = std::string("KEYS\x01order-20261207-000042\x02UNIQ_KEY\x01") +
                 "7F0000011B6418B4AAC25F3A8C2D0000\x02WAIT\x01true\x02TAGS\x01TagA";
  h.max_reconsume_times = 16;
  h.Encode(&cmd);
  cmd.body = std::string(1024, 'x');
  return EncodeFrame(cmd);
}

void BM_DecodeSendRequest(benchmark::State& state) {
  const std::string frame = SendRequestFrame();
  const std::string_view body = std::string_view(frame).substr(4);
  for (auto _ : state) {
    auto cmd = DecodeFrameBody(body);
    auto h = SendMessageRequestHeader::Decode(*cmd);
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (frame.size() - 1024)));
}
BENCHMARK(BM_DecodeSendRequest);

void BM_EncodeSendResponse(benchmark::State& state) {
  auto request = DecodeFrameBody(std::string_view(SendRequestFrame()).substr(4));
  for (auto _ : state) {
    RemotingCommand r = RemotingCommand::ResponseTo(*request, 0);
    SendMessageResponseHeader h;
    h.msg_id = "7F00000100002A9F000000000A3C1B20";
    h.queue_id = 3;
    h.queue_offset = 1234567;
    h.Encode(&r);
    std::string frame = EncodeFrame(r);
    benchmark::DoNotOptimize(frame);
  }
}
BENCHMARK(BM_EncodeSendResponse);

}  // namespace
}  // namespace ramjet::protocol

BENCHMARK_MAIN();
