"""Raw gRPC calls on the broker's port (grpcio, and the message classes the Python client ships).
The offset RPCs of 5.x pull consumers (UpdateOffset, GetOffset, QueryOffset, PullMessage), then
bad input: garbage bytes for a request, an unknown RPC, a request beyond the size limit, a forged
receipt handle, an unknown topic, an illegal topic name, an empty send. Each gets the right gRPC
status or apache.rocketmq.v2 Code; the broker keeps serving.
RAMJET_GRPC=host:port names the broker's gRPC address (run.sh starts one)."""
import os
import sys
import time

import grpc
from google.protobuf import duration_pb2
from rocketmq.grpc_protocol import definition_pb2, service_pb2, service_pb2_grpc

ENDPOINT = os.environ.get("RAMJET_GRPC", "127.0.0.1:8081")
SERVICE = "/apache.rocketmq.v2.MessagingService/"
META = (("x-mq-client-id", "bad-input-test"),)


def raw(channel, method, payload):
    call = channel.unary_unary(SERVICE + method, request_serializer=None,
                               response_deserializer=None)
    try:
        call(payload, timeout=5, metadata=META)
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


def resource(name):
    return definition_pb2.Resource(name=name)


def send_one(stub, topic, body=b"ok"):
    m = definition_pb2.Message(topic=resource(topic), body=body)
    m.system_properties.message_id = "BADINPUT" + str(os.getpid())
    m.system_properties.message_type = definition_pb2.NORMAL
    return stub.SendMessage(service_pb2.SendMessageRequest(messages=[m]), timeout=5, metadata=META)


def main():
    channel = grpc.insecure_channel(ENDPOINT, options=[("grpc.max_send_message_length", 64 << 20)])
    stub = service_pb2_grpc.MessagingServiceStub(channel)
    checks = []

    def check(name, got, want):
        checks.append((name, got == want, got, want))

    # Offsets and pulls of one queue.
    topic = "RawPullT" + str(os.getpid())
    for i in range(5):
        m = definition_pb2.Message(topic=resource(topic), body=f"pull-{i}".encode())
        m.system_properties.message_id = f"RAWPULL{os.getpid()}-{i}"
        m.system_properties.queue_id = 0
        r = stub.SendMessage(service_pb2.SendMessageRequest(messages=[m]), timeout=5, metadata=META)
        assert r.status.code == definition_pb2.OK, r
    mq = definition_pb2.MessageQueue(topic=resource(topic), id=0)
    group = resource("RawPullG" + str(os.getpid()))
    got = stub.GetOffset(service_pb2.GetOffsetRequest(group=group, message_queue=mq), timeout=5,
                         metadata=META)
    check("GetOffset of a new group", got.status.code, definition_pb2.OFFSET_NOT_FOUND)
    for _ in range(50):  # the consume queue is built just after the send is acknowledged
        end = stub.QueryOffset(service_pb2.QueryOffsetRequest(
            message_queue=mq, query_offset_policy=definition_pb2.END), timeout=5, metadata=META)
        if end.offset == 5:
            break
        time.sleep(0.1)
    check("QueryOffset END", (end.status.code, end.offset), (definition_pb2.OK, 5))
    pulled, next_offset = [], None
    for r in stub.PullMessage(service_pb2.PullMessageRequest(
            group=group, message_queue=mq, offset=1, batch_size=3,
            filter_expression=definition_pb2.FilterExpression(type=definition_pb2.TAG,
                                                              expression="*")),
            timeout=5, metadata=META):
        if r.HasField("message"):
            pulled.append(r.message.body.decode())
        elif r.HasField("next_offset"):
            next_offset = r.next_offset
    check("PullMessage from offset 1", (pulled, next_offset), (["pull-1", "pull-2", "pull-3"], 4))
    upd = stub.UpdateOffset(service_pb2.UpdateOffsetRequest(group=group, message_queue=mq,
                                                            offset=next_offset), timeout=5,
                            metadata=META)
    check("UpdateOffset", upd.status.code, definition_pb2.OK)
    got = stub.GetOffset(service_pb2.GetOffsetRequest(group=group, message_queue=mq), timeout=5,
                         metadata=META)
    check("GetOffset after UpdateOffset", (got.status.code, got.offset), (definition_pb2.OK, 4))

    # gRPC 1.51's callback API answers a request that does not parse with UNIMPLEMENTED (grpc-java
    # says INTERNAL): either way an error status, and the broker goes on (checked last).
    bad_parse = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNIMPLEMENTED}
    for name, payload in (("garbage request bytes", b"\xff\xff\xff\xff garbage"),
                          ("a message field that does not parse", b"\x0a\x03abc")):
        got = raw(channel, "SendMessage", payload)
        check(name, got if got in bad_parse else got, got if got in bad_parse else "an error")
    check("unknown RPC", raw(channel, "NoSuchRpc", b""), grpc.StatusCode.UNIMPLEMENTED)
    check("request beyond the size limit",
          raw(channel, "SendMessage", b"\x0a" + b"\xff" * 5 + b"\x01" * (40 << 20)),
          grpc.StatusCode.RESOURCE_EXHAUSTED)
    big = send_one(stub, "BadInputT", b"x" * (4 * 1024 * 1024 + 1))
    check("message body too large", big.entries[0].status.code,
          definition_pb2.MESSAGE_BODY_TOO_LARGE)
    check("empty send", stub.SendMessage(service_pb2.SendMessageRequest(), timeout=5,
                                         metadata=META).status.code, definition_pb2.BAD_REQUEST)
    check("illegal topic name", send_one(stub, "../../etc/passwd").entries[0].status.code,
          definition_pb2.ILLEGAL_TOPIC)
    ack = stub.AckMessage(service_pb2.AckMessageRequest(
        group=resource("BadInputG"), topic=resource("BadInputT"),
        entries=[service_pb2.AckMessageEntry(message_id="x", receipt_handle="forged handle")]),
        timeout=5, metadata=META)
    check("forged receipt handle", ack.status.code, definition_pb2.INVALID_RECEIPT_HANDLE)
    change = stub.ChangeInvisibleDuration(service_pb2.ChangeInvisibleDurationRequest(
        group=resource("BadInputG"), topic=resource("BadInputT"),
        receipt_handle="1 2 3 0 0 nobroker 0 1 1",
        invisible_duration=duration_pb2.Duration(seconds=10)), timeout=5, metadata=META)
    check("receipt handle of another broker", change.status.code,
          definition_pb2.INVALID_RECEIPT_HANDLE)
    receive = service_pb2.ReceiveMessageRequest(
        group=resource("BadInputG"),
        message_queue=definition_pb2.MessageQueue(topic=resource("NoSuchTopicBadInput"), id=-1),
        filter_expression=definition_pb2.FilterExpression(type=definition_pb2.TAG, expression="*"),
        batch_size=1, long_polling_timeout=duration_pb2.Duration(seconds=1))
    statuses = [r.status.code for r in stub.ReceiveMessage(receive, timeout=10, metadata=META)
                if r.HasField("status")]
    check("receive from an unknown topic", statuses, [definition_pb2.TOPIC_NOT_FOUND])
    receive.message_queue.topic.name = topic
    receive.invisible_duration.seconds = 0
    statuses = [r.status.code for r in stub.ReceiveMessage(receive, timeout=10, metadata=META)
                if r.HasField("status")]
    check("invisible duration of 0", statuses, [definition_pb2.ILLEGAL_INVISIBLE_TIME])
    ok = send_one(stub, "BadInputT")
    check("still serving afterwards", ok.entries[0].status.code, definition_pb2.OK)

    failed = 0
    for name, good, got, want in checks:
        print(f"{'ok  ' if good else 'FAIL'} {name}: {got}" + ("" if good else f" (want {want})"))
        failed += 0 if good else 1
    if failed:
        print(f"FAILED: {failed} of {len(checks)} checks")
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
