"""Apache's Python 5.x client (rocketmq-python-client 5.1.2, gRPC) against the broker's own
apache.rocketmq.v2 service: normal, FIFO, delay and transactional sends (commit, rollback,
check-back), SimpleConsumer (receive, ack, redelivery, change_invisible_duration), PushConsumer.
RAMJET_GRPC=host:port names the broker's gRPC address (run.sh starts one)."""
import os
import sys
import threading
import time

from rocketmq import (ClientConfiguration, ConsumeResult, Credentials, FilterExpression,
                      Message, MessageListener, Producer, PushConsumer, SimpleConsumer,
                      TransactionChecker, TransactionResolution)

ENDPOINTS = os.environ.get("RAMJET_GRPC", "127.0.0.1:8081")
RUN = str(os.getpid())


def config():
    return ClientConfiguration(ENDPOINTS, Credentials(), request_timeout=5)


def message(topic, body, **kw):
    m = Message()
    m.topic = topic
    m.body = body.encode()
    for k, v in kw.items():
        if k == "keys":
            m.keys = v
        elif k == "props":
            for pk, pv in v.items():
                m.add_property(pk, pv)
        else:
            setattr(m, k, v)
    return m


def receive(consumer, want, ack=True, invisible=15, limit=30):
    got = []
    end = time.time() + limit
    while len(got) < want and time.time() < end:
        for m in consumer.receive(16, invisible):
            got.append(m)
            if ack:
                consumer.ack(m)
    return got


def simple(group, topic, tag="*"):
    c = SimpleConsumer(config(), group, {topic: FilterExpression(tag)}, await_duration=2)
    c.startup()
    return c


class Checker(TransactionChecker):
    def __init__(self):
        self.checked = []

    def check(self, message):
        self.checked.append(message.body.decode())
        return TransactionResolution.COMMIT


def step(name, fn):
    t0 = time.time()
    fn()
    print(f"ok   {name} ({int((time.time() - t0) * 1000)} ms)", flush=True)


def main():
    topic = f"PyT{RUN}"
    checker = Checker()
    producer = Producer(config(), (topic, topic + "R", topic + "F", topic + "D", topic + "X"), checker)
    producer.startup()

    def normal():
        sent = {}
        for i in range(10):
            r = producer.send(message(topic, f"n{i}", tag="TagA", keys=f"k{i}",
                                      props={"seq": str(i)}))
            sent[r.message_id] = i
        producer.send(message(topic, "b", tag="TagB"))
        c = simple(f"PyG1{RUN}", topic, "TagA")
        got = receive(c, 10)
        assert len(got) == 10, f"received {len(got)} of 10"
        for m in got:
            i = sent.pop(m.message_id)
            assert m.body.decode() == f"n{i}"
            assert m.tag == "TagA"
            assert m.properties.get("seq") == str(i), m.properties
            assert not m.corrupted, "body digest verified"
        assert not sent
        assert receive(c, 1, limit=3) == [], "TagB filtered out"
        c.shutdown()

    def redelivery():
        t = topic + "R"
        producer.send(message(t, "again"))
        c = simple(f"PyG2{RUN}", t, "*")
        first = receive(c, 1, ack=False, invisible=2)
        assert len(first) == 1
        second = receive(c, 1, ack=False, invisible=30, limit=20)
        assert len(second) == 1 and second[0].message_id == first[0].message_id, "delivered again"
        assert second[0].delivery_attempt == 2
        c.change_invisible_duration(second[0], 1)
        third = receive(c, 1, limit=15)
        assert len(third) == 1, "back after the shortened invisible time"
        assert receive(c, 1, limit=3) == [], "acked: not delivered again"
        c.shutdown()

    def fifo_delay_tx():
        for i in range(5):
            producer.send(message(topic + "F", f"f{i}", message_group="g1"))
        c = simple(f"PyG3{RUN}", topic + "F")
        assert [m.body.decode() for m in receive(c, 5)] == [f"f{i}" for i in range(5)]
        c.shutdown()
        at = int(time.time()) + 3
        producer.send(message(topic + "D", "later", delivery_timestamp=at))
        c = simple(f"PyG4{RUN}", topic + "D")
        got = receive(c, 1, limit=20)
        assert len(got) == 1 and time.time() >= at - 1
        c.shutdown()
        tx = producer.begin_transaction()
        producer.send(message(topic + "X", "committed"), tx)
        tx.commit()
        tx = producer.begin_transaction()
        producer.send(message(topic + "X", "rolled-back"), tx)
        tx.rollback()
        tx = producer.begin_transaction()
        producer.send(message(topic + "X", "checked"), tx)  # decided by the check-back
        c = simple(f"PyG5{RUN}", topic + "X")
        bodies = sorted(m.body.decode() for m in receive(c, 2, limit=30))
        bodies += [m.body.decode() for m in receive(c, 1, limit=3)]  # the rolled-back one: never
        assert bodies == ["checked", "committed"], bodies
        assert "checked" in checker.checked
        c.shutdown()

    def push():
        t = topic + "P"
        want = {producer.send(message(t, f"p{i}")).message_id for i in range(10)}
        seen = set()
        lock = threading.Lock()

        class Listener(MessageListener):
            def consume(self, m):
                with lock:
                    seen.add(m.message_id)
                return ConsumeResult.SUCCESS

        pc = PushConsumer(config(), f"PyG6{RUN}", Listener(), {t: FilterExpression("*")})
        pc.startup()
        end = time.time() + 30
        while time.time() < end:
            with lock:
                if want <= seen:
                    break
            time.sleep(0.1)
        pc.shutdown()
        assert want <= seen, f"{len(seen & want)} of {len(want)}"

    step("normal send, tag filter, receive and ack", normal)
    step("redelivery and change_invisible_duration", redelivery)
    step("FIFO order, delay, transactions with check-back", fifo_delay_tx)
    step("PushConsumer consumes everything", push)
    producer.shutdown()
    print("all passed", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - report and fail
        import traceback
        traceback.print_exc()
        print(f"FAILED: {e!r}", flush=True)
        os._exit(1)
    os._exit(0)
