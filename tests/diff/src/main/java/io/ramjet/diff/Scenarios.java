package io.ramjet.diff;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONArray;
import com.alibaba.fastjson.JSONObject;
import com.alibaba.fastjson.serializer.SerializerFeature;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.MQVersion;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageId;
import org.apache.rocketmq.common.protocol.ResponseCode;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.tools.command.MQAdminStartup;

/**
 * The scenarios. Each step sends the same requests to whichever servers it is pointed at and
 * records what a client observes. Topic, group and key names are fixed (each run starts from an
 * empty store), so values need no normalisation beyond addresses, ports, times and ids.
 *
 * <p>Usage: {@code Scenarios <namesrvAddr> <brokerAddr> <out.json> <tmpDir>}
 */
public final class Scenarios {
    static final String CLUSTER = "DefaultCluster";
    static final String BROKER_NAME = "broker-diff";
    static final String TOPIC = "DiffTopic";        // 4 read / 4 write queues, perm 6
    static final String TOPIC_RO = "DiffTopicRO";   // perm 4 (read only)
    static final String TOPIC_WO = "DiffTopicWO";   // perm 2 (write only)
    static final String TOPIC_SQL = "DiffTopicSql"; // messages with user properties
    static final String TOPIC_CLIENT = "DiffTopicClient";
    static final String GROUP = "DiffGroup";
    static final String PGROUP = "DiffProducerGroup";
    static final long BORN_TS = 1_700_000_000_123L; // fixed born timestamp of raw sends
    static final long TIMEOUT_MS = 8_000;

    // Request codes (rocketmq-remoting.md; org.apache.rocketmq.common.protocol.RequestCode).
    static final int SEND_MESSAGE = 10, PULL_MESSAGE = 11, QUERY_MESSAGE = 12, QUERY_CONSUMER_OFFSET = 14,
            UPDATE_CONSUMER_OFFSET = 15, UPDATE_AND_CREATE_TOPIC = 17, GET_ALL_TOPIC_CONFIG = 21,
            UPDATE_BROKER_CONFIG = 25, GET_BROKER_CONFIG = 26, GET_BROKER_RUNTIME_INFO = 28,
            SEARCH_OFFSET_BY_TIMESTAMP = 29, GET_MAX_OFFSET = 30, GET_MIN_OFFSET = 31,
            GET_EARLIEST_MSG_STORETIME = 32, VIEW_MESSAGE_BY_ID = 33, HEART_BEAT = 34,
            GET_CONSUMER_LIST_BY_GROUP = 38, CHECK_CLIENT_CONFIG = 46, PUT_KV_CONFIG = 100,
            GET_KV_CONFIG = 101, DELETE_KV_CONFIG = 102, GET_ROUTEINFO_BY_TOPIC = 105,
            GET_BROKER_CLUSTER_INFO = 106, UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200,
            GET_ALL_SUBSCRIPTIONGROUP_CONFIG = 201, DELETE_TOPIC_IN_BROKER = 215,
            GET_ALL_TOPIC_LIST_FROM_NAMESERVER = 206, GET_TOPIC_STATS_INFO = 202,
            GET_CONSUME_STATS = 208, UPDATE_NAMESRV_CONFIG = 318, GET_NAMESRV_CONFIG = 319;

    private static final Map<Integer, String> CODE_NAMES = new HashMap<>();

    static {
        for (java.lang.reflect.Field f : ResponseCode.class.getFields()) {
            if (f.getType() == int.class) {
                try {
                    CODE_NAMES.putIfAbsent(f.getInt(null), f.getName());
                } catch (IllegalAccessException ignored) {
                    // public static fields only
                }
            }
        }
        CODE_NAMES.put(0, "SUCCESS");
        CODE_NAMES.put(1, "SYSTEM_ERROR");
        CODE_NAMES.put(2, "SYSTEM_BUSY");
        CODE_NAMES.put(3, "REQUEST_CODE_NOT_SUPPORTED");
    }

    final String namesrv;
    final String broker;
    final Path tmp;
    final Obs obs = new Obs();
    final NettyRemotingClient client;
    final long startMs = System.currentTimeMillis();
    final int brokerPort;

    Scenarios(String namesrv, String broker, Path tmp) {
        this.namesrv = namesrv;
        this.broker = broker;
        this.tmp = tmp;
        int bp = Integer.parseInt(broker.substring(broker.lastIndexOf(':') + 1));
        brokerPort = bp;
        String host = broker.substring(0, broker.lastIndexOf(':'));
        obs.replace(broker, "<broker>");
        obs.replace(namesrv, "<namesrv>");
        obs.replace(host + ":" + (bp - 2), "<broker-vip>");
        obs.replace(host + ":" + (bp + 1), "<broker-ha>");
        obs.replace(tmp.toString(), "<tmp>");
        NettyClientConfig cfg = new NettyClientConfig();
        client = new NettyRemotingClient(cfg);
        client.start();
    }

    public static void main(String[] args) throws Exception {
        System.setProperty(RemotingCommand.REMOTING_VERSION_KEY, Integer.toString(MQVersion.CURRENT_VERSION));
        Scenarios s = new Scenarios(args[0], args[1], Paths.get(args[3]));
        Path outFile = Paths.get(args[2]);
        // Some mqadmin code paths call System.exit (e.g. on an option it cannot parse): the hook still
        // writes what was observed, with a harness error naming the step.
        Thread hook = new Thread(() -> {
            synchronized (s) {
                if (!s.written) {
                    s.obs.harnessErrors.add("runner exited during step: " + s.currentStep);
                    s.write(outFile);
                }
            }
        }, "write-observations");
        Runtime.getRuntime().addShutdownHook(hook);
        int rc = 0;
        try {
            s.runAll();
        } catch (Throwable t) {
            s.obs.harnessErrors.add("runner aborted: " + t);
            t.printStackTrace();
            rc = 1;
        } finally {
            s.client.shutdown();
        }
        synchronized (s) {
            s.write(outFile);
        }
        System.out.printf("scenarios: %d observations, %d harness errors, %d ms%n", s.obs.values.size(),
                s.obs.harnessErrors.size(), System.currentTimeMillis() - s.startMs);
        for (String e : s.obs.harnessErrors) {
            System.out.println("  harness error: " + e);
        }
        System.exit(rc);
    }

    volatile String currentStep = "<start>";
    boolean written;

    void write(Path outFile) {
        JSONObject out = new JSONObject(true);
        out.put("observations", obs.values);
        out.put("harnessErrors", obs.harnessErrors);
        try {
            Files.writeString(outFile, JSON.toJSONString(out, SerializerFeature.PrettyFormat) + "\n");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        written = true;
    }

    // ------------------------------------------------------------------ raw remoting

    interface Step {
        void run() throws Exception;
    }

    /** Runs one step; an exception is an observation (the client would see it), recorded under key. */
    void step(String key, Step s) {
        currentStep = key;
        try {
            s.run();
        } catch (Throwable t) {
            StringBuilder sb = new StringBuilder(t.getClass().getSimpleName() + ": " + firstLine(t.getMessage()));
            if (t instanceof org.apache.rocketmq.client.exception.MQClientException ce) {
                sb.append(" [responseCode ").append(ce.getResponseCode()).append("]");
            } else if (t instanceof org.apache.rocketmq.client.exception.MQBrokerException be) {
                sb.append(" [responseCode ").append(be.getResponseCode()).append("]");
            }
            for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
                sb.append(" <- ").append(c.getClass().getSimpleName()).append(": ").append(firstLine(c.getMessage()));
            }
            obs.put(key + " (exception)", obs.norm(sb.toString()));
            if (t instanceof org.apache.rocketmq.remoting.exception.RemotingTimeoutException
                    || t instanceof org.apache.rocketmq.remoting.exception.RemotingConnectException
                    || t instanceof NullPointerException || t instanceof ClassCastException) {
                obs.harnessErrors.add(key + ": " + t);
            }
        }
    }

    static String firstLine(String s) {
        if (s == null) {
            return "<null>";
        }
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }

    RemotingCommand req(String addr, int code, Map<String, String> ext, byte[] body) throws Exception {
        RemotingCommand cmd = RemotingCommand.createRequestCommand(code, null);
        if (ext != null) {
            for (Map.Entry<String, String> e : ext.entrySet()) {
                cmd.addExtField(e.getKey(), e.getValue());
            }
        }
        cmd.setBody(body);
        return client.invokeSync(addr, cmd, TIMEOUT_MS);
    }

    static Map<String, String> ext(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    static String codeName(int code) {
        return code + " " + CODE_NAMES.getOrDefault(code, "?");
    }

    /** Records code and remark (and optionally the sorted extension fields) of a response. */
    void recordResponse(String key, RemotingCommand r, boolean withExt, String... dropExt) {
        obs.put(key + " code", codeName(r.getCode()));
        obs.putNorm(key + " remark", r.getRemark());
        if (withExt) {
            TreeMap<String, String> e = new TreeMap<>();
            if (r.getExtFields() != null) {
                e.putAll(r.getExtFields());
            }
            for (String d : dropExt) {
                if (e.containsKey(d)) {
                    e.put(d, "<present>");
                }
            }
            obs.putNorm(key + " extFields", e.toString());
        }
    }

    RemotingCommand send(String topic, int queueId, byte[] body, Map<String, String> props, int sysFlag,
            boolean batch) throws Exception {
        Map<String, String> h = ext("producerGroup", PGROUP, "topic", topic, "defaultTopic", "TBW102",
                "defaultTopicQueueNums", "4", "queueId", String.valueOf(queueId), "sysFlag",
                String.valueOf(sysFlag), "bornTimestamp", String.valueOf(BORN_TS), "flag", "7",
                "properties", MessageDecoder.messageProperties2String(props), "reconsumeTimes", "0",
                "unitMode", "false", "batch", String.valueOf(batch));
        return req(broker, SEND_MESSAGE, h, body);
    }

    static Map<String, String> props(String... kv) {
        return ext(kv);
    }

    RemotingCommand pull(String group, String topic, int queueId, long offset, int maxNums, int sysFlag,
            String subscription, String exprType) throws Exception {
        Map<String, String> h = ext("consumerGroup", group, "topic", topic, "queueId", String.valueOf(queueId),
                "queueOffset", String.valueOf(offset), "maxMsgNums", String.valueOf(maxNums), "sysFlag",
                String.valueOf(sysFlag), "commitOffset", "0", "suspendTimeoutMillis", "0", "subscription",
                subscription, "subVersion", String.valueOf(System.currentTimeMillis()));
        if (exprType != null) {
            h.put("expressionType", exprType);
        }
        return req(broker, PULL_MESSAGE, h, null);
    }

    static final int FLAG_SUBSCRIPTION = 0x4;

    RemotingCommand createTopic(String topic, int queues, int perm) throws Exception {
        return req(broker, UPDATE_AND_CREATE_TOPIC, ext("topic", topic, "defaultTopic", "TBW102", "readQueueNums",
                String.valueOf(queues), "writeQueueNums", String.valueOf(queues), "perm", String.valueOf(perm),
                "topicFilterType", "SINGLE_TAG", "topicSysFlag", "0", "order", "false"), null);
    }

    RemotingCommand updateBrokerConfig(String kv) throws Exception {
        return req(broker, UPDATE_BROKER_CONFIG, null, kv.getBytes(StandardCharsets.UTF_8));
    }

    long maxOffset(String topic, int q) throws Exception {
        RemotingCommand r = req(broker, GET_MAX_OFFSET, ext("topic", topic, "queueId", String.valueOf(q)), null);
        if (r.getCode() != 0) {
            return -1;
        }
        return Long.parseLong(r.getExtFields().get("offset"));
    }

    /** Bounded wait until the consume queue of (topic, q) reaches at least n entries. */
    void awaitMaxOffset(String topic, int q, long n) throws Exception {
        for (int i = 0; i < 100; i++) {
            if (maxOffset(topic, q) >= n) {
                return;
            }
            Thread.sleep(50);
        }
        obs.harnessErrors.add("max offset of " + topic + "/" + q + " did not reach " + n + " within 5 s");
    }

    /** Bounded wait until the name server routes topic with the given number of queues. */
    JSONObject awaitRoute(String topic, int queues) throws Exception {
        JSONObject last = null;
        for (int i = 0; i < 100; i++) {
            RemotingCommand r = req(namesrv, GET_ROUTEINFO_BY_TOPIC, ext("topic", topic), null);
            if (r.getCode() == 0 && r.getBody() != null) {
                last = JSON.parseObject(new String(r.getBody(), StandardCharsets.UTF_8));
                JSONArray qd = last.getJSONArray("queueDatas");
                if (qd != null && !qd.isEmpty() && qd.getJSONObject(0).getIntValue("readQueueNums") == queues) {
                    return last;
                }
            }
            Thread.sleep(100);
        }
        obs.harnessErrors.add("route of " + topic + " with " + queues + " queues not seen within 10 s: " + last);
        return last;
    }

    // ------------------------------------------------------------------ messages

    /** The fields of a message as a client decodes them, normalised. */
    String describe(MessageExt m, long baseCommitLogOffset) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("topic", m.getTopic());
        d.put("queueId", m.getQueueId());
        d.put("queueOffset", m.getQueueOffset());
        d.put("flag", m.getFlag());
        d.put("sysFlag", m.getSysFlag());
        d.put("storeSize", m.getStoreSize());
        d.put("bodyCRC", m.getBodyCRC());
        d.put("bodyLength", m.getBody() == null ? -1 : m.getBody().length);
        d.put("reconsumeTimes", m.getReconsumeTimes());
        // An absolute commit-log offset (of the half message): only its presence is comparable.
        d.put("preparedTransactionOffset", m.getPreparedTransactionOffset() > 0 ? "a commit-log offset (> 0)"
                : String.valueOf(m.getPreparedTransactionOffset()));
        d.put("commitLogOffsetDelta", baseCommitLogOffset < 0 ? "n/a" : m.getCommitLogOffset() - baseCommitLogOffset);
        d.put("bornTimestamp", m.getBornTimestamp() == BORN_TS ? "as sent" : plausibleTime(m.getBornTimestamp()));
        d.put("storeTimestamp", plausibleTime(m.getStoreTimestamp()));
        d.put("bornHost", hostForm(m.getBornHost()));
        d.put("storeHost", obs.norm(hostForm(m.getStoreHost())));
        if (m instanceof org.apache.rocketmq.common.message.MessageClientExt c) {
            // getMsgId() of a client-decoded message is UNIQ_KEY when present, else the offset id.
            d.put("offsetMsgId", msgIdForm(c.getOffsetMsgId(), m));
            String uniq = m.getProperty("UNIQ_KEY");
            d.put("msgId", uniq != null && uniq.equals(c.getMsgId()) ? "UNIQ_KEY"
                    : msgIdForm(c.getMsgId(), m));
        } else {
            d.put("msgId", msgIdForm(m.getMsgId(), m));
        }
        TreeMap<String, String> p = new TreeMap<>();
        if (m.getProperties() != null) {
            for (Map.Entry<String, String> e : m.getProperties().entrySet()) {
                String k = e.getKey();
                String v = e.getValue();
                if (k.equals("UNIQ_KEY")) {
                    v = v.matches("[0-9A-F]{32}|[0-9A-F]{56}") ? "<" + v.length() + " hex>" : "unexpected form: " + v;
                } else {
                    v = obs.norm(v);
                }
                p.put(k, v);
            }
        }
        d.put("properties", p);
        return JSON.toJSONString(d, SerializerFeature.MapSortField);
    }

    /**
     * Whether a reported disk-usage ratio is what df's Use% (and Apache's UtilAll) computes for the
     * path: used / (used + usable), used = total - free. Other formulas (e.g. (total - usable) /
     * total) differ on file systems with many reserved blocks, and that decides when a broker
     * refuses writes as "disk full".
     */
    static String diskRatioForm(String path, String reported) {
        try {
            java.io.File f = new java.io.File(path);
            double used = f.getTotalSpace() - f.getFreeSpace();
            double expected = used / (used + f.getUsableSpace());
            double r = Double.parseDouble(reported);
            return Math.abs(r - expected) <= 0.02 ? "used / (used + usable), as df"
                    : String.format("not used / (used + usable): reported %.3f, df-style %.3f, (total - usable) / total %.3f",
                            r, expected, (f.getTotalSpace() - f.getUsableSpace()) / (double) f.getTotalSpace());
        } catch (RuntimeException e) {
            return "unparsable: " + reported + " (" + e + ")";
        }
    }

    String plausibleTime(long t) {
        long now = System.currentTimeMillis();
        if (t >= startMs - 60_000 && t <= now + 60_000) {
            return "during the run";
        }
        return "outside the run: " + t;
    }

    static String hostForm(java.net.SocketAddress a) {
        if (a instanceof InetSocketAddress isa) {
            String h = isa.getAddress() == null ? isa.getHostString() : isa.getAddress().getHostAddress();
            return h + ":" + (isa.getPort() > 0 ? "<port>" : String.valueOf(isa.getPort()));
        }
        return String.valueOf(a);
    }

    /** Describes an id: an offset message id must name the store host and the commit log offset. */
    String msgIdForm(String id, MessageExt m) {
        if (id == null) {
            return "<null>";
        }
        if (!id.matches("[0-9A-F]{32}")) {
            return "not 32 upper-case hex: " + obs.norm(id);
        }
        try {
            MessageId mid = MessageDecoder.decodeMessageId(id);
            String host = obs.norm(String.valueOf(((InetSocketAddress) mid.getAddress()).getAddress().getHostAddress()
                    + ":" + ((InetSocketAddress) mid.getAddress()).getPort()));
            String off = m == null ? "offset" : (mid.getOffset() == m.getCommitLogOffset() ? "commitLogOffset"
                    : "offset " + mid.getOffset() + " != commitLogOffset " + m.getCommitLogOffset());
            return "offsetMsgId(" + host + ", " + off + ")";
        } catch (Exception e) {
            return "undecodable: " + e;
        }
    }

    List<MessageExt> decodeBody(byte[] body) {
        if (body == null) {
            return List.of();
        }
        return MessageDecoder.decodes(ByteBuffer.wrap(body), true);
    }

    void recordMessages(String key, byte[] body) {
        recordMessages(key, body, true);
    }

    /**
     * withDeltas=false when other writes may interleave with the recorded messages (e.g. a oneway
     * END_TRANSACTION between two half messages): commit-log distances are then timing.
     */
    void recordMessages(String key, byte[] body, boolean withDeltas) {
        List<MessageExt> msgs = decodeBody(body);
        List<String> raw = rawProperties(body);
        obs.put(key + " count", String.valueOf(msgs.size()));
        long base = msgs.isEmpty() || !withDeltas ? -1 : msgs.get(0).getCommitLogOffset();
        for (int i = 0; i < msgs.size() && i < 5; i++) {
            obs.put(key + " [" + i + "]", describe(msgs.get(i), base));
            if (i < raw.size()) {
                obs.put(key + " [" + i + "] stored property pairs", raw.get(i));
            }
        }
    }

    /**
     * The stored property string of each message record in a pull/query body, as its sorted list
     * of name=value pairs with duplicates kept (the decoded map hides a duplicate name; the order
     * is a Java HashMap's and is not compared). Record layout: rocketmq-remoting.md, message format v1.
     */
    List<String> rawProperties(byte[] body) {
        List<String> out = new ArrayList<>();
        if (body == null) {
            return out;
        }
        ByteBuffer bb = ByteBuffer.wrap(body);
        try {
            while (bb.remaining() >= 4) {
                int start = bb.position();
                int total = bb.getInt();
                bb.position(start + 4 + 4 + 4 + 4 + 4 + 8 + 8);
                int sysFlag = bb.getInt();
                int bornHostLen = (sysFlag & 0x10) != 0 ? 20 : 8;  // BORNHOST_V6_FLAG
                int storeHostLen = (sysFlag & 0x20) != 0 ? 20 : 8; // STOREHOSTADDRESS_V6_FLAG
                bb.position(bb.position() + 8 + bornHostLen + 8 + storeHostLen + 4 + 8);
                int bodyLen = bb.getInt();
                bb.position(bb.position() + bodyLen);
                int topicLen = bb.get() & 0xff;
                bb.position(bb.position() + topicLen);
                int propLen = bb.getShort() & 0xffff;
                byte[] props = new byte[propLen];
                bb.get(props);
                List<String> pairs = new ArrayList<>();
                for (String pair : new String(props, StandardCharsets.UTF_8).split("\u0002")) {
                    if (!pair.isEmpty()) {
                        pairs.add(obs.norm(pair.replace('\u0001', '='))
                                .replaceAll("^UNIQ_KEY=[0-9A-F]+$", "UNIQ_KEY=<hex>"));
                    }
                }
                pairs.sort(null);
                out.add(pairs + " (" + propLen + " bytes)");
                bb.position(start + total);
            }
        } catch (RuntimeException e) {
            out.add("unparsable record: " + e);
        }
        return out;
    }

    static byte[] body(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    // ------------------------------------------------------------------ scenarios

    void runAll() throws Exception {
        awaitRoute("TBW102", 8);
        nameServer();
        topics();
        sends();
        pulls();
        queries();
        offsets();
        javaClient();
        moreMessages();
        admin();
        autoCreateOff();
        writePerm();
    }

    /**
     * Last, because Apache's broker takes the inherit permission away from TBW102 for good when
     * a send names it as default topic while autoCreateTopicEnable is false (observed below).
     */
    void autoCreateOff() {
        step("send.auto-create off", () -> {
            recordResponse("broker.updateConfig autoCreateTopicEnable=false",
                    updateBrokerConfig("autoCreateTopicEnable=false\n"), false);
            RemotingCommand r = send("DiffAutoOff", 0, "x".getBytes(StandardCharsets.UTF_8), props("TAGS", "t"), 0,
                    false);
            recordResponse("send.unknown topic autoCreate=false", r, true);
            RemotingCommand r2 = req(namesrv, GET_ROUTEINFO_BY_TOPIC, ext("topic", "DiffAutoOff"), null);
            recordResponse("send.unknown topic autoCreate=false then route", r2, false);
            recordResponse("broker.updateConfig autoCreateTopicEnable=true",
                    updateBrokerConfig("autoCreateTopicEnable=true\n"), false);
        });
        step("TBW102 after autoCreate off/on", () -> {
            RemotingCommand r = req(namesrv, GET_ROUTEINFO_BY_TOPIC, ext("topic", "TBW102"), null);
            JSONObject o = JSON.parseObject(bodyText(r));
            obs.put("send.autoCreate off then on: TBW102 perm in route",
                    o == null ? "<none>" : String.valueOf(o.getJSONArray("queueDatas").getJSONObject(0).get("perm")));
            r = send("DiffAutoAgain", 0, "x".getBytes(StandardCharsets.UTF_8), props("TAGS", "t"), 0, false);
            recordResponse("send.unknown topic after autoCreate off/on", r, false);
        });
    }

    void nameServer() {
        step("ns.route unknown topic", () -> recordResponse("ns.route unknown topic",
                req(namesrv, GET_ROUTEINFO_BY_TOPIC, ext("topic", "DiffNoSuchTopic"), null), false));
        step("ns.route TBW102", () -> {
            RemotingCommand r = req(namesrv, GET_ROUTEINFO_BY_TOPIC, ext("topic", "TBW102"), null);
            recordResponse("ns.route TBW102", r, true);
            obs.putNorm("ns.route TBW102 body", bodyText(r));
        });
        step("ns.cluster info", () -> {
            RemotingCommand r = req(namesrv, GET_BROKER_CLUSTER_INFO, null, null);
            recordResponse("ns.cluster info", r, false);
            obs.putNorm("ns.cluster info body", bodyText(r));
        });
        step("ns.kv get unknown", () -> recordResponse("ns.kv get unknown",
                req(namesrv, GET_KV_CONFIG, ext("namespace", "DiffNs", "key", "k"), null), true));
        step("ns.kv put", () -> recordResponse("ns.kv put",
                req(namesrv, PUT_KV_CONFIG, ext("namespace", "DiffNs", "key", "k", "value", "v1"), null), true));
        step("ns.kv get", () -> recordResponse("ns.kv get",
                req(namesrv, GET_KV_CONFIG, ext("namespace", "DiffNs", "key", "k"), null), true));
        step("ns.kv delete", () -> recordResponse("ns.kv delete",
                req(namesrv, DELETE_KV_CONFIG, ext("namespace", "DiffNs", "key", "k"), null), true));
        step("ns.config", () -> {
            RemotingCommand r = req(namesrv, GET_NAMESRV_CONFIG, null, null);
            recordResponse("ns.config", r, false);
            recordPropertyKeys("ns.config key", bodyText(r));
        });
        step("ns.unsupported code", () -> {
            // Apache's name server does not answer unknown codes at all: a bounded wait of 2 s.
            RemotingCommand cmd = RemotingCommand.createRequestCommand(9999, null);
            try {
                recordResponse("ns.unsupported code 9999", client.invokeSync(namesrv, cmd, 2_000), false);
            } catch (org.apache.rocketmq.remoting.exception.RemotingTimeoutException e) {
                obs.put("ns.unsupported code 9999 code", "no response within 2 s");
            }
        });
    }

    /** One "present" observable per key, and one value observable per key (prefix "... value "). */
    void recordPropertyKeys(String key, String propsText) {
        TreeMap<String, String> kv = new TreeMap<>();
        for (String line : propsText.split("\n")) {
            int i = line.indexOf('=');
            if (i > 0) {
                kv.put(line.substring(0, i).trim(), line.substring(i + 1).trim());
            }
        }
        for (String k : kv.keySet()) {
            obs.put(key + " " + obs.norm(k), "present");
        }
        String valuePrefix = key.replace(" key", " value");
        for (Map.Entry<String, String> e : kv.entrySet()) {
            String v = e.getValue();
            v = v.equals(String.valueOf(brokerPort)) ? "<broker port>" : v.equals(String.valueOf(brokerPort + 1))
                    ? "<broker port + 1>" : v.equals(namesrv.substring(namesrv.lastIndexOf(':') + 1)) ? "<namesrv port>" : v;
            obs.put(valuePrefix + " " + obs.norm(e.getKey()), obs.norm(v));
        }
    }

    static String bodyText(RemotingCommand r) {
        return r.getBody() == null ? "<no body>" : new String(r.getBody(), StandardCharsets.UTF_8);
    }

    void topics() {
        step("topic.create rw", () -> recordResponse("topic.create " + TOPIC, createTopic(TOPIC, 4, 6), false));
        step("topic.create ro", () -> recordResponse("topic.create " + TOPIC_RO, createTopic(TOPIC_RO, 2, 4), false));
        step("topic.create wo", () -> recordResponse("topic.create " + TOPIC_WO, createTopic(TOPIC_WO, 2, 2), false));
        step("topic.create sql", () -> recordResponse("topic.create " + TOPIC_SQL, createTopic(TOPIC_SQL, 1, 6),
                false));
        step("topic.create illegal name", () -> recordResponse("topic.create illegal name",
                createTopic("Diff Topic!", 1, 6), false));
        step("topic.create system topic name", () -> recordResponse("topic.create TBW102",
                createTopic("TBW102", 8, 7), false));
        step("topic.route", () -> {
            JSONObject route = awaitRoute(TOPIC, 4);
            obs.putNorm("topic.route " + TOPIC + " body", route == null ? "<none>"
                    : JSON.toJSONString(route, SerializerFeature.MapSortField));
            obs.put("topic.route " + TOPIC + " shape", route == null ? "<none>" : shape(route));
            RemotingCommand r = req(namesrv, GET_ROUTEINFO_BY_TOPIC, ext("topic", TOPIC), null);
            obs.putNorm("topic.route " + TOPIC + " raw body", bodyText(r));
        });
        step("topic.route ro", () -> {
            JSONObject route = awaitRoute(TOPIC_RO, 2);
            obs.putNorm("topic.route " + TOPIC_RO + " queueDatas", route == null ? "<none>"
                    : String.valueOf(route.get("queueDatas")));
        });
    }

    /**
     * Sorts the top-level members of the object or array that is the value of {@code "field"} in a
     * fastjson text (which may use objects as map keys, so no JSON parser is used): their order is a
     * Java HashMap's, not something a client may rely on. Strings are assumed to hold no braces.
     */
    static String sortMembers(String text, String field) {
        int at = text.indexOf("\"" + field + "\":");
        if (at < 0) {
            return text;
        }
        int open = at + field.length() + 3;
        if (open >= text.length() || (text.charAt(open) != '{' && text.charAt(open) != '[')) {
            return text;
        }
        int depth = 0;
        int memberStart = open + 1;
        List<String> members = new ArrayList<>();
        for (int i = open; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
                if (depth == 0) {
                    if (i > memberStart) {
                        members.add(text.substring(memberStart, i));
                    }
                    members.sort(null);
                    return text.substring(0, open + 1) + String.join(",", members) + text.substring(i);
                }
            } else if (c == ',' && depth == 1) {
                members.add(text.substring(memberStart, i));
                memberStart = i + 1;
            }
        }
        return text;
    }

    /** The JSON shape: keys and value types, recursively (arrays by their first element). */
    static String shape(Object o) {
        if (o instanceof JSONObject jo) {
            TreeMap<String, String> m = new TreeMap<>();
            for (Map.Entry<String, Object> e : jo.entrySet()) {
                String k = e.getKey().matches("\\d+") ? "<int key>" : e.getKey();
                m.put(k, shape(e.getValue()));
            }
            return m.toString();
        } else if (o instanceof JSONArray ja) {
            return ja.isEmpty() ? "[]" : "[" + shape(ja.get(0)) + "]";
        } else if (o == null) {
            return "null";
        }
        return o.getClass().getSimpleName();
    }

    String firstOffsetMsgId;

    void sends() {
        step("send.ok", () -> {
            RemotingCommand r = send(TOPIC, 0, "hello-0".getBytes(StandardCharsets.UTF_8),
                    props("KEYS", "diffKey1", "TAGS", "TagA", "UNIQ_KEY", "0A0B0C0D0E0F00000000000000000001",
                            "WAIT", "true", "userProp", "v1"), 0, false);
            recordResponse("send.ok", r, true, "msgId");
            if (r.getExtFields() != null) {
                firstOffsetMsgId = r.getExtFields().get("msgId");
                obs.put("send.ok msgId form", msgIdForm(r.getExtFields().get("msgId"), null));
            }
        });
        step("send.more", () -> {
            for (int i = 1; i <= 3; i++) {
                RemotingCommand r = send(TOPIC, 0, ("hello-" + i).getBytes(StandardCharsets.UTF_8),
                        props("KEYS", "diffKey" + (i + 1) + " shared", "TAGS", i % 2 == 0 ? "TagA" : "TagB"), 0,
                        false);
                obs.put("send.more " + i + " code", codeName(r.getCode()));
                obs.putNorm("send.more " + i + " queueOffset",
                        r.getExtFields() == null ? "<none>" : r.getExtFields().get("queueOffset"));
            }
            for (int q = 1; q < 4; q++) {
                RemotingCommand r = send(TOPIC, q, ("q" + q).getBytes(StandardCharsets.UTF_8),
                        props("TAGS", "TagQ"), 0, false);
                obs.put("send.queue " + q + " code", codeName(r.getCode()));
            }
        });
        step("send.sql props", () -> {
            for (int i = 0; i < 4; i++) {
                RemotingCommand r = send(TOPIC_SQL, 0, ("sql-" + i).getBytes(StandardCharsets.UTF_8),
                        props("TAGS", "T" + i, "a", String.valueOf(i), "color", i % 2 == 0 ? "red" : "blue"), 0,
                        false);
                obs.put("send.sql " + i + " code", codeName(r.getCode()));
            }
        });
        step("send.auto-create on", () -> {
            RemotingCommand r = send("DiffAutoOn", 0, "x".getBytes(StandardCharsets.UTF_8), props("TAGS", "t"), 0,
                    false);
            recordResponse("send.unknown topic autoCreate=true", r, true, "msgId");
            JSONObject route = awaitRoute("DiffAutoOn", 4);
            obs.putNorm("send.unknown topic autoCreate=true route queueDatas",
                    route == null ? "<none>" : String.valueOf(route.get("queueDatas")));
        });
        step("send.read-only", () -> recordResponse("send.read-only topic",
                send(TOPIC_RO, 0, "x".getBytes(StandardCharsets.UTF_8), props(), 0, false), true));
        step("send.write-only", () -> recordResponse("send.write-only topic",
                send(TOPIC_WO, 0, "x".getBytes(StandardCharsets.UTF_8), props(), 0, false), false));
        step("send.illegal queue", () -> recordResponse("send.queueId 99 of 4",
                send(TOPIC, 99, "x".getBytes(StandardCharsets.UTF_8), props(), 0, false), true));
        step("send.oversized", () -> recordResponse("send.body 4 MiB + 1",
                send(TOPIC, 1, body(4 * 1024 * 1024 + 1, 1), props(), 0, false), true));
        step("send.max size", () -> recordResponse("send.body 4 MiB",
                send(TOPIC, 1, body(4 * 1024 * 1024, 2), props(), 0, false), true, "msgId", "queueOffset"));
        step("send.illegal topic", () -> recordResponse("send.topic with illegal characters",
                send("Diff Topic!", 0, "x".getBytes(StandardCharsets.UTF_8), props(), 0, false), true));
        step("send.long topic", () -> recordResponse("send.topic of 128 characters",
                send("T".repeat(128), 0, "x".getBytes(StandardCharsets.UTF_8), props(), 0, false), true));
        step("send.not allowed topic", () -> recordResponse("send.topic SCHEDULE_TOPIC_XXXX",
                send("SCHEDULE_TOPIC_XXXX", 0, "x".getBytes(StandardCharsets.UTF_8), props(), 0, false), true));
        step("send.huge properties", () -> recordResponse("send.properties of 40000 bytes",
                send(TOPIC, 1, "x".getBytes(StandardCharsets.UTF_8), props("big", "p".repeat(40_000)), 0, false),
                true));
        step("send.empty body", () -> recordResponse("send.empty body",
                send(TOPIC, 1, new byte[0], props(), 0, false), true, "msgId", "queueOffset"));
        step("send.delay", () -> {
            RemotingCommand r = send(TOPIC, 2, "delayed".getBytes(StandardCharsets.UTF_8), props("DELAY", "3"), 0,
                    false);
            recordResponse("send.delay level 3", r, true, "msgId");
        });
        step("send.missing header", () -> recordResponse("send.without topic header",
                req(broker, SEND_MESSAGE, ext("producerGroup", PGROUP, "queueId", "0"), "x".getBytes()), false));
    }

    void pulls() {
        step("pull.ok", () -> {
            awaitMaxOffset(TOPIC, 0, 4);
            RemotingCommand r = pull(GROUP, TOPIC, 0, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG");
            recordResponse("pull.queue 0 from 0", r, true);
            recordMessages("pull.queue 0 from 0 msg", r.getBody());
        });
        step("pull.tag filter", () -> {
            RemotingCommand r = pull(GROUP, TOPIC, 0, 0, 32, FLAG_SUBSCRIPTION, "TagA", "TAG");
            recordResponse("pull.tag TagA", r, true);
            List<MessageExt> msgs = decodeBody(r.getBody());
            List<String> offs = new ArrayList<>();
            for (MessageExt m : msgs) {
                offs.add(m.getQueueOffset() + ":" + m.getTags());
            }
            obs.put("pull.tag TagA offsets", offs.toString());
        });
        step("pull.sql", () -> {
            awaitMaxOffset(TOPIC_SQL, 0, 4);
            RemotingCommand r = pull(GROUP + "Sql", TOPIC_SQL, 0, 0, 32, FLAG_SUBSCRIPTION, "a >= 2 AND color = 'red'",
                    "SQL92");
            recordResponse("pull.sql a>=2 and color=red", r, true);
            List<String> offs = new ArrayList<>();
            for (MessageExt m : decodeBody(r.getBody())) {
                offs.add(m.getQueueOffset() + ":" + m.getProperty("a"));
            }
            obs.put("pull.sql a>=2 and color=red offsets", offs.toString());
        });
        step("pull.bad sql", () -> recordResponse("pull.sql bad expression",
                pull(GROUP + "Sql", TOPIC_SQL, 0, 0, 32, FLAG_SUBSCRIPTION, "a >>> 1 AND (", "SQL92"), true));
        step("pull.unknown expression type", () -> recordResponse("pull.expressionType XPATH",
                pull(GROUP + "Sql", TOPIC_SQL, 0, 0, 32, FLAG_SUBSCRIPTION, "a = 1", "XPATH"), true));
        step("pull.unknown topic", () -> recordResponse("pull.unknown topic",
                pull(GROUP, "DiffNoSuchTopic", 0, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG"), true));
        step("pull.illegal queue", () -> recordResponse("pull.queueId 99 of 4",
                pull(GROUP, TOPIC, 99, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG"), true));
        step("pull.offset too big", () -> recordResponse("pull.offset 1000 of 4",
                pull(GROUP, TOPIC, 0, 1000, 32, FLAG_SUBSCRIPTION, "*", "TAG"), true));
        step("pull.at end", () -> recordResponse("pull.offset at max",
                pull(GROUP, TOPIC, 0, 4, 32, FLAG_SUBSCRIPTION, "*", "TAG"), true));
        step("pull.empty queue", () -> recordResponse("pull.empty queue offset 0",
                pull(GROUP, TOPIC_RO, 1, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG"), true));
        step("pull.write-only", () -> recordResponse("pull.write-only topic",
                pull(GROUP, TOPIC_WO, 0, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG"), true));
        step("pull.no subscription flag", () -> recordResponse("pull.without subscription flag, group unknown",
                pull("DiffGroupNoSub", TOPIC, 0, 0, 32, 0, "*", "TAG"), true));
        step("pull.group not exist", () -> {
            recordResponse("broker.updateConfig autoCreateSubscriptionGroup=false",
                    updateBrokerConfig("autoCreateSubscriptionGroup=false\n"), false);
            recordResponse("pull.unknown group autoCreateSubscriptionGroup=false",
                    pull("DiffGroupUnknown", TOPIC, 0, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG"), true);
            recordResponse("broker.updateConfig autoCreateSubscriptionGroup=true",
                    updateBrokerConfig("autoCreateSubscriptionGroup=true\n"), false);
        });
        step("pull.max 2", () -> {
            RemotingCommand r = pull(GROUP, TOPIC, 0, 1, 2, FLAG_SUBSCRIPTION, "*", "TAG");
            recordResponse("pull.offset 1 maxMsgNums 2", r, true);
            obs.put("pull.offset 1 maxMsgNums 2 count", String.valueOf(decodeBody(r.getBody()).size()));
        });
        step("check client config bad sql", () -> recordResponse("checkClientConfig bad sql",
                req(broker, CHECK_CLIENT_CONFIG, null, ("{\"group\":\"" + GROUP + "\",\"subscriptionData\":{"
                        + "\"topic\":\"" + TOPIC_SQL + "\",\"subString\":\"a >>> 1\",\"expressionType\":\"SQL92\","
                        + "\"classFilterMode\":false,\"tagsSet\":[],\"codeSet\":[],\"subVersion\":1}}")
                        .getBytes(StandardCharsets.UTF_8)), false));
    }

    long firstCommitLogOffset = -1;

    void queries() {
        step("query.by key", () -> {
            Thread.sleep(200); // the index is built behind the commit log (bounded, once)
            RemotingCommand r = req(broker, QUERY_MESSAGE, ext("topic", TOPIC, "key", "diffKey1", "maxNum", "32",
                    "beginTimestamp", "0", "endTimestamp", String.valueOf(Long.MAX_VALUE)), null);
            recordResponse("query.key diffKey1", r, true, "indexLastUpdatePhyoffset");
            recordMessages("query.key diffKey1 msg", r.getBody());
            List<MessageExt> m = decodeBody(r.getBody());
            if (!m.isEmpty()) {
                firstCommitLogOffset = m.get(0).getCommitLogOffset();
            }
        });
        step("query.by shared key", () -> {
            RemotingCommand r = req(broker, QUERY_MESSAGE, ext("topic", TOPIC, "key", "shared", "maxNum", "32",
                    "beginTimestamp", "0", "endTimestamp", String.valueOf(Long.MAX_VALUE)), null);
            recordResponse("query.key shared", r, true, "indexLastUpdatePhyoffset");
            List<String> offs = new ArrayList<>();
            for (MessageExt m : decodeBody(r.getBody())) {
                offs.add(String.valueOf(m.getQueueOffset()));
            }
            offs.sort(null);
            obs.put("query.key shared queueOffsets", offs.toString());
        });
        step("query.by unique key", () -> {
            RemotingCommand r = req(broker, QUERY_MESSAGE, ext("topic", TOPIC, "key",
                    "0A0B0C0D0E0F00000000000000000001", "maxNum", "32", "beginTimestamp", "0", "endTimestamp",
                    String.valueOf(Long.MAX_VALUE), "_UNIQUE_KEY_QUERY", "true"), null);
            recordResponse("query.uniqueKey", r, true, "indexLastUpdatePhyoffset");
            obs.put("query.uniqueKey count", String.valueOf(decodeBody(r.getBody()).size()));
        });
        step("query.unknown key", () -> recordResponse("query.key unknown",
                req(broker, QUERY_MESSAGE, ext("topic", TOPIC, "key", "noSuchKey", "maxNum", "32", "beginTimestamp",
                        "0", "endTimestamp", String.valueOf(Long.MAX_VALUE)), null), true));
        step("view.by offset", () -> {
            if (firstCommitLogOffset < 0) {
                obs.put("view.by id", "skipped: query by key found nothing");
                return;
            }
            RemotingCommand r = req(broker, VIEW_MESSAGE_BY_ID, ext("offset", String.valueOf(firstCommitLogOffset)),
                    null);
            recordResponse("view.by id", r, true);
            recordMessages("view.by id msg", r.getBody());
        });
        step("view.bad offset", () -> recordResponse("view.by id bad offset",
                req(broker, VIEW_MESSAGE_BY_ID, ext("offset", "987654321"), null), false));
    }

    void offsets() {
        step("offsets.max/min", () -> {
            for (int q = 0; q < 4; q++) {
                RemotingCommand r = req(broker, GET_MAX_OFFSET, ext("topic", TOPIC, "queueId", String.valueOf(q)),
                        null);
                obs.putNorm("offset.max q" + q, codeName(r.getCode()) + " " + r.getExtFields());
                r = req(broker, GET_MIN_OFFSET, ext("topic", TOPIC, "queueId", String.valueOf(q)), null);
                obs.putNorm("offset.min q" + q, codeName(r.getCode()) + " " + r.getExtFields());
            }
        });
        step("offsets.max unknown topic", () -> recordResponse("offset.max unknown topic",
                req(broker, GET_MAX_OFFSET, ext("topic", "DiffNoSuchTopic", "queueId", "0"), null), true));
        step("offsets.max bad queue", () -> recordResponse("offset.max queueId 99",
                req(broker, GET_MAX_OFFSET, ext("topic", TOPIC, "queueId", "99"), null), true));
        step("offsets.search", () -> {
            for (Object[] c : new Object[][] {{"0", 0L}, {"now+1h", System.currentTimeMillis() + 3_600_000L},
                    {"run start-1min", startMs - 60_000}}) {
                RemotingCommand r = req(broker, SEARCH_OFFSET_BY_TIMESTAMP, ext("topic", TOPIC, "queueId", "0",
                        "timestamp", String.valueOf(c[1])), null);
                obs.putNorm("offset.searchByTimestamp " + c[0], codeName(r.getCode()) + " " + r.getExtFields());
            }
            RemotingCommand r = req(broker, SEARCH_OFFSET_BY_TIMESTAMP, ext("topic", TOPIC_RO, "queueId", "1",
                    "timestamp", "0"), null);
            obs.putNorm("offset.searchByTimestamp empty queue", codeName(r.getCode()) + " " + r.getExtFields());
        });
        step("offsets.earliest", () -> {
            RemotingCommand r = req(broker, GET_EARLIEST_MSG_STORETIME, ext("topic", TOPIC, "queueId", "0"), null);
            obs.put("offset.earliestMsgStoreTime code", codeName(r.getCode()));
            String t = r.getExtFields() == null ? null : r.getExtFields().get("timestamp");
            obs.put("offset.earliestMsgStoreTime value", t == null ? "<none>" : plausibleTime(Long.parseLong(t)));
            r = req(broker, GET_EARLIEST_MSG_STORETIME, ext("topic", TOPIC_RO, "queueId", "1"), null);
            recordResponse("offset.earliestMsgStoreTime empty queue", r, true);
        });
        step("offsets.consumer", () -> {
            recordResponse("consumerOffset.query never committed", req(broker, QUERY_CONSUMER_OFFSET,
                    ext("consumerGroup", "DiffGroupOff", "topic", TOPIC, "queueId", "0"), null), true);
            recordResponse("consumerOffset.update 2", req(broker, UPDATE_CONSUMER_OFFSET,
                    ext("consumerGroup", "DiffGroupOff", "topic", TOPIC, "queueId", "0", "commitOffset", "2"), null),
                    true);
            recordResponse("consumerOffset.query after update", req(broker, QUERY_CONSUMER_OFFSET,
                    ext("consumerGroup", "DiffGroupOff", "topic", TOPIC, "queueId", "0"), null), true);
            recordResponse("consumerOffset.query other queue", req(broker, QUERY_CONSUMER_OFFSET,
                    ext("consumerGroup", "DiffGroupOff", "topic", TOPIC, "queueId", "3"), null), true);
            recordResponse("consumerOffset.update unknown topic", req(broker, UPDATE_CONSUMER_OFFSET,
                    ext("consumerGroup", "DiffGroupOff", "topic", "DiffNoSuchTopic", "queueId", "0", "commitOffset",
                            "1"), null), true);
        });
        step("admin bodies", () -> {
            // Raw admin bodies as fastjson writes them (object keys inside map keys, key order, number
            // forms): what non-Java clients parse. Floats (TPS) are timing.
            RemotingCommand r = req(broker, GET_TOPIC_STATS_INFO, ext("topic", TOPIC), null);
            recordResponse("admin.topicStats", r, false);
            obs.putNorm("admin.topicStats body", sortMembers(bodyText(r), "offsetTable"));
            r = req(broker, GET_CONSUME_STATS, ext("consumerGroup", "DiffGroupOff", "topic", TOPIC), null);
            recordResponse("admin.consumeStats", r, false);
            obs.putNorm("admin.consumeStats body", sortMembers(bodyText(r), "offsetTable")
                    .replaceAll("\"consumeTps\":[0-9.Ee-]+", "\"consumeTps\":<tps>"));
            String lock = "{\"consumerGroup\":\"DiffGroupOff\",\"clientId\":\"127.0.0.1@diff-lock\",\"mqSet\":[{\"topic\":\""
                    + TOPIC + "\",\"brokerName\":\"" + BROKER_NAME + "\",\"queueId\":0},{\"topic\":\"" + TOPIC
                    + "\",\"brokerName\":\"" + BROKER_NAME + "\",\"queueId\":1}]}";
            r = req(broker, 41, null, lock.getBytes(StandardCharsets.UTF_8)); // LOCK_BATCH_MQ
            recordResponse("admin.lockBatchMQ", r, false);
            obs.putNorm("admin.lockBatchMQ body", sortMembers(bodyText(r), "lockOKMQSet"));
            r = req(broker, 42, null, lock.getBytes(StandardCharsets.UTF_8)); // UNLOCK_BATCH_MQ
            recordResponse("admin.unlockBatchMQ", r, false);
            obs.putNorm("admin.unlockBatchMQ body", bodyText(r));
        });
        step("consumer list unknown group", () -> recordResponse("consumerList unknown group",
                req(broker, GET_CONSUMER_LIST_BY_GROUP, ext("consumerGroup", "DiffNoGroup"), null), true));
        step("broker unsupported code", () -> recordResponse("broker.unsupported code 9999",
                req(broker, 9999, null, null), false));
        step("broker.config keys", () -> {
            RemotingCommand r = req(broker, GET_BROKER_CONFIG, null, null);
            recordResponse("broker.config", r, false);
            recordPropertyKeys("broker.config key", bodyText(r));
        });
        step("broker.runtime keys", () -> {
            RemotingCommand r = req(broker, GET_BROKER_RUNTIME_INFO, null, null);
            recordResponse("broker.runtimeInfo", r, false);
            JSONObject o = JSON.parseObject(bodyText(r));
            JSONObject table = o == null ? null : o.getJSONObject("table");
            if (table != null) {
                for (String k : new TreeSet<>(table.keySet())) {
                    obs.put("broker.runtimeInfo key " + obs.norm(k), "present");
                    if (k.startsWith("commitLogDiskRatio_")) {
                        obs.put("broker.runtimeInfo commitLogDiskRatio", diskRatioForm(
                                k.substring("commitLogDiskRatio_".length()), table.getString(k)));
                    }
                }
            } else {
                obs.putNorm("broker.runtimeInfo body", bodyText(r));
            }
        });
    }

    void javaClient() {
        DefaultMQProducer p = new DefaultMQProducer("DiffClientProducer");
        configure(p, "p1");
        try {
            step("client.start", p::start);
            step("client.createTopic", () -> {
                p.createTopic("TBW102", TOPIC_CLIENT, 2);
                awaitRoute(TOPIC_CLIENT, 2);
            });
            step("client.send", () -> {
                Message m = new Message(TOPIC_CLIENT, "TagC", "clientKey1", "client body".getBytes());
                m.putUserProperty("up", "u1");
                m.setDelayTimeLevel(0);
                org.apache.rocketmq.common.message.MessageQueue mq =
                        new org.apache.rocketmq.common.message.MessageQueue(TOPIC_CLIENT, BROKER_NAME, 1);
                SendResult sr = p.send(m, mq);
                obs.put("client.send status", String.valueOf(sr.getSendStatus()));
                obs.put("client.send queue", sr.getMessageQueue().getTopic() + "/" + sr.getMessageQueue().getQueueId());
                obs.put("client.send queueOffset", String.valueOf(sr.getQueueOffset()));
                obs.put("client.send msgId", sr.getMsgId() != null && sr.getMsgId().matches("[0-9A-F]{32}|[0-9A-F]{56}")
                        ? "<" + sr.getMsgId().length() + " hex>" : obs.norm(sr.getMsgId()));
                obs.put("client.send offsetMsgId", msgIdForm(sr.getOffsetMsgId(), null));
                obs.put("client.send regionId", String.valueOf(sr.getRegionId()));
                obs.put("client.send traceOn", String.valueOf(sr.isTraceOn()));
                obs.put("client.send transactionId", sr.getTransactionId() == null ? "<null>" : "<set>");
                awaitMaxOffset(TOPIC_CLIENT, 1, 1);
                RemotingCommand r = pull(GROUP, TOPIC_CLIENT, 1, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG");
                recordResponse("client.send then pull", r, true);
                recordMessages("client.send then pull msg", r.getBody());
            });
            step("client.send unknown topic autoCreate", () -> {
                SendResult sr = p.send(new Message("DiffClientAuto", "t", "k", "b".getBytes()));
                obs.put("client.send auto-created topic status", String.valueOf(sr.getSendStatus()));
            });
            step("client.send read-only", () -> p.send(new Message(TOPIC_RO, "t", "k", "b".getBytes()),
                    new org.apache.rocketmq.common.message.MessageQueue(TOPIC_RO, BROKER_NAME, 0)));
        } finally {
            p.shutdown();
        }
    }

    static final String TOPIC_DELAY = "DiffTopicDelay";
    static final String TOPIC_TX = "DiffTopicTx";
    static final String TOPIC_BATCH = "DiffTopicBatch";

    /** Pulls (topic, q) from offset 0 until n messages are there (bounded) and records them. */
    void pullAndRecord(String key, String topic, int q, int n, long waitMs) throws Exception {
        long deadline = System.currentTimeMillis() + waitMs;
        RemotingCommand r = null;
        while (System.currentTimeMillis() < deadline) {
            r = pull(GROUP, topic, q, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG");
            if (r.getCode() == 0 && decodeBody(r.getBody()).size() >= n) {
                break;
            }
            Thread.sleep(200);
        }
        recordResponse(key, r, true);
        recordMessages(key + " msg", r.getBody());
    }

    void moreMessages() {
        step("delay.create", () -> recordResponse("topic.create " + TOPIC_DELAY, createTopic(TOPIC_DELAY, 1, 6), false));
        step("delay.level1", () -> {
            RemotingCommand r = send(TOPIC_DELAY, 0, "delayed-1s".getBytes(StandardCharsets.UTF_8),
                    props("TAGS", "TagD", "KEYS", "delayKey", "DELAY", "1", "UNIQ_KEY", "0A0B0C0D0E0F00000000000000000D01"),
                    0, false);
            recordResponse("delay.send level 1", r, true, "msgId");
            // Delivered from SCHEDULE_TOPIC_XXXX after 1 s (level 1); bounded wait of 10 s.
            pullAndRecord("delay.after delivery pull", TOPIC_DELAY, 0, 1, 10_000);
            RemotingCommand q = req(broker, QUERY_MESSAGE, ext("topic", TOPIC_DELAY, "key", "delayKey", "maxNum", "32",
                    "beginTimestamp", "0", "endTimestamp", String.valueOf(Long.MAX_VALUE)), null);
            obs.put("delay.query by key count", codeName(q.getCode()) + " " + decodeBody(q.getBody()).size());
            RemotingCommand sch = pull(GROUP, "SCHEDULE_TOPIC_XXXX", 0, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG");
            recordResponse("delay.pull SCHEDULE_TOPIC_XXXX queue 0", sch, true);
            recordMessages("delay.pull SCHEDULE_TOPIC_XXXX queue 0 msg", sch.getBody());
        });
        step("sendback.dlq", () -> {
            // CONSUMER_SEND_MSG_BACK (36) with delayLevel -1: straight to %DLQ%<group>.
            RemotingCommand q = req(broker, QUERY_MESSAGE, ext("topic", TOPIC, "key", "diffKey1", "maxNum", "1",
                    "beginTimestamp", "0", "endTimestamp", String.valueOf(Long.MAX_VALUE)), null);
            List<MessageExt> found = decodeBody(q.getBody());
            if (found.isEmpty()) {
                obs.put("sendback", "skipped: diffKey1 not found");
                return;
            }
            MessageExt m = found.get(0);
            RemotingCommand r = req(broker, 36, ext("offset", String.valueOf(m.getCommitLogOffset()), "group", GROUP,
                    "delayLevel", "-1", "originMsgId", "0A0B0C0D0E0F00000000000000000001", "originTopic", TOPIC,
                    "unitMode", "false", "maxReconsumeTimes", "16"), null);
            recordResponse("sendback.delayLevel -1", r, true);
            RemotingCommand route = null;
            for (int i = 0; i < 30; i++) { // the broker registers the new DLQ topic: bounded 3 s
                route = req(namesrv, GET_ROUTEINFO_BY_TOPIC, ext("topic", "%DLQ%" + GROUP), null);
                if (route.getCode() == 0) {
                    break;
                }
                Thread.sleep(100);
            }
            JSONObject ro = route.getCode() == 0 ? JSON.parseObject(bodyText(route)) : null;
            obs.putNorm("sendback.DLQ route queueDatas", ro == null ? codeName(route.getCode())
                    : String.valueOf(ro.get("queueDatas")));
            awaitMaxOffset("%DLQ%" + GROUP, 0, 1);
            RemotingCommand p = pull(GROUP, "%DLQ%" + GROUP, 0, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG");
            recordResponse("sendback.pull DLQ", p, true);
            RemotingCommand dq = req(broker, QUERY_MESSAGE, ext("topic", "%DLQ%" + GROUP, "key", "diffKey1", "maxNum",
                    "32", "beginTimestamp", "0", "endTimestamp", String.valueOf(Long.MAX_VALUE)), null);
            recordResponse("sendback.query DLQ by key", dq, false);
            recordMessages("sendback.query DLQ by key msg", dq.getBody());
            // delayLevel 1: via SCHEDULE_TOPIC_XXXX (1 s) into %RETRY%<group>, as a failed push consumption.
            r = req(broker, 36, ext("offset", String.valueOf(m.getCommitLogOffset()), "group", GROUP + "Retry",
                    "delayLevel", "1", "originMsgId", "0A0B0C0D0E0F00000000000000000001", "originTopic", TOPIC,
                    "unitMode", "false", "maxReconsumeTimes", "16"), null);
            recordResponse("sendback.delayLevel 1", r, true);
            pullAndRecord("sendback.retry topic after delivery pull", "%RETRY%" + GROUP + "Retry", 0, 1, 10_000);
            r = req(broker, 36, ext("offset", "987654321", "group", GROUP, "delayLevel", "0", "originMsgId",
                    "0A0B0C0D0E0F00000000000000000001", "originTopic", TOPIC, "unitMode", "false"), null);
            recordResponse("sendback.bad offset", r, true);
        });
        DefaultMQProducer p = new DefaultMQProducer("DiffClientProducer2");
        configure(p, "p2");
        org.apache.rocketmq.client.producer.TransactionMQProducer tp =
                new org.apache.rocketmq.client.producer.TransactionMQProducer("DiffTxProducer");
        configure(tp, "tx");
        try {
            step("client2.start", () -> {
                p.start();
                tp.setTransactionListener(new org.apache.rocketmq.client.producer.TransactionListener() {
                    @Override
                    public org.apache.rocketmq.client.producer.LocalTransactionState executeLocalTransaction(
                            Message msg, Object arg) {
                        return "commit".equals(arg) ? org.apache.rocketmq.client.producer.LocalTransactionState.COMMIT_MESSAGE
                                : org.apache.rocketmq.client.producer.LocalTransactionState.ROLLBACK_MESSAGE;
                    }

                    @Override
                    public org.apache.rocketmq.client.producer.LocalTransactionState checkLocalTransaction(MessageExt msg) {
                        return org.apache.rocketmq.client.producer.LocalTransactionState.COMMIT_MESSAGE;
                    }
                });
                tp.start();
                recordResponse("topic.create " + TOPIC_TX, createTopic(TOPIC_TX, 1, 6), false);
                recordResponse("topic.create " + TOPIC_BATCH, createTopic(TOPIC_BATCH, 1, 6), false);
                awaitRoute(TOPIC_TX, 1);
                awaitRoute(TOPIC_BATCH, 1);
            });
            step("client.batch", () -> {
                List<Message> batch = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    Message m = new Message(TOPIC_BATCH, "TagB" + i, "batchKey" + i, ("batch-" + i).getBytes());
                    m.putUserProperty("i", String.valueOf(i));
                    batch.add(m);
                }
                SendResult sr = p.send(batch, new org.apache.rocketmq.common.message.MessageQueue(TOPIC_BATCH, BROKER_NAME, 0));
                obs.put("client.batch status", String.valueOf(sr.getSendStatus()));
                obs.put("client.batch queueOffset", String.valueOf(sr.getQueueOffset()));
                String[] ids = sr.getMsgId() == null ? new String[0] : sr.getMsgId().split(",");
                String[] offIds = sr.getOffsetMsgId() == null ? new String[0] : sr.getOffsetMsgId().split(",");
                obs.put("client.batch msgId count", ids.length + " unique ids, " + offIds.length + " offset ids");
                List<String> forms = new ArrayList<>();
                for (String id : offIds) {
                    forms.add(msgIdForm(id, null));
                }
                obs.put("client.batch offsetMsgId forms", forms.toString());
                pullAndRecord("client.batch pull", TOPIC_BATCH, 0, 3, 5_000);
            });
            step("client.compressed", () -> {
                byte[] body = ("compressible ".repeat(1000)).getBytes(StandardCharsets.UTF_8); // > 4 KiB: zlib
                SendResult sr = p.send(new Message(TOPIC_BATCH, "TagZ", "zipKey", body),
                        new org.apache.rocketmq.common.message.MessageQueue(TOPIC_BATCH, BROKER_NAME, 0));
                obs.put("client.compressed status", String.valueOf(sr.getSendStatus()));
                awaitMaxOffset(TOPIC_BATCH, 0, sr.getQueueOffset() + 1);
                RemotingCommand r = pull(GROUP, TOPIC_BATCH, 0, sr.getQueueOffset(), 1, FLAG_SUBSCRIPTION, "*", "TAG");
                recordResponse("client.compressed pull", r, true);
                recordMessages("client.compressed pull msg", r.getBody());
            });
            step("client.transaction", () -> {
                for (String outcome : new String[] {"commit", "rollback"}) {
                    Message m = new Message(TOPIC_TX, "TagT", "txKey-" + outcome, ("tx " + outcome).getBytes());
                    org.apache.rocketmq.client.producer.TransactionSendResult tr = tp.sendMessageInTransaction(m, outcome);
                    obs.put("client.transaction " + outcome + " sendStatus", String.valueOf(tr.getSendStatus()));
                    obs.put("client.transaction " + outcome + " localState", String.valueOf(tr.getLocalTransactionState()));
                    obs.put("client.transaction " + outcome + " queue", tr.getMessageQueue() == null ? "<null>"
                            : tr.getMessageQueue().getTopic() + "/" + tr.getMessageQueue().getQueueId());
                    obs.put("client.transaction " + outcome + " offsetMsgId", msgIdForm(tr.getOffsetMsgId(), null));
                    obs.put("client.transaction " + outcome + " transactionId", tr.getTransactionId() == null
                            ? "<null>" : (tr.getTransactionId().equals(tr.getMsgId()) ? "= msgId" : "other"));
                }
                // The commit arrives as a oneway END_TRANSACTION: bounded wait for the real message.
                pullAndRecord("client.transaction committed pull", TOPIC_TX, 0, 1, 5_000);
                Thread.sleep(300);
                RemotingCommand r = pull(GROUP, TOPIC_TX, 0, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG");
                obs.put("client.transaction real topic count after commit + rollback",
                        String.valueOf(decodeBody(r.getBody()).size()));
                RemotingCommand h = pull(GROUP, "RMQ_SYS_TRANS_HALF_TOPIC", 0, 0, 32, FLAG_SUBSCRIPTION, "*", "TAG");
                recordResponse("client.transaction pull half topic", h, true);
                recordMessages("client.transaction pull half topic msg", h.getBody(), false);
            });
            step("mqadmin producerConnection", () -> {
                // The producer heartbeats every 30 s; one heartbeat now registers its group.
                p.getDefaultMQProducerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
                obs.put("mqadmin producerConnection",
                    mqadmin("producerConnection", "-g", "DiffClientProducer2", "-t", TOPIC_BATCH, "-n", namesrv));
            });
            step("push consumer", this::pushConsumer);
            step("heartbeat bad sql", () -> {
                String hb = "{\"clientID\":\"127.0.0.1@diff-hb\",\"consumerDataSet\":[{\"groupName\":\"DiffGroupHb\","
                        + "\"consumeType\":\"CONSUME_PASSIVELY\",\"messageModel\":\"CLUSTERING\","
                        + "\"consumeFromWhere\":\"CONSUME_FROM_LAST_OFFSET\",\"subscriptionDataSet\":[{\"topic\":\""
                        + TOPIC_SQL + "\",\"subString\":\"a >>> 1\",\"expressionType\":\"SQL92\",\"classFilterMode\":false,"
                        + "\"tagsSet\":[],\"codeSet\":[],\"subVersion\":1}],\"unitMode\":false}],\"producerDataSet\":[]}";
                recordResponse("heartbeat with bad SQL92 subscription", req(broker, HEART_BEAT, null,
                        hb.getBytes(StandardCharsets.UTF_8)), true);
                recordResponse("consumerList after bad heartbeat", req(broker, GET_CONSUMER_LIST_BY_GROUP,
                        ext("consumerGroup", "DiffGroupHb"), null), true);
            });
        } finally {
            tp.shutdown();
            p.shutdown();
        }
    }

    /**
     * A push consumer on DiffTopicBatch: what the client hands to the listener, and what mqadmin
     * shows about a live consumer group. Bounded: 20 s for the first messages.
     */
    void pushConsumer() throws Exception {
        org.apache.rocketmq.client.consumer.DefaultMQPushConsumer c =
                new org.apache.rocketmq.client.consumer.DefaultMQPushConsumer("DiffPushGroup");
        c.setNamesrvAddr(namesrv);
        c.setClientIP("127.0.0.1");
        c.setInstanceName("diff-push-" + ProcessHandle.current().pid());
        c.setVipChannelEnabled(false);
        c.setConsumeFromWhere(org.apache.rocketmq.common.consumer.ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPersistConsumerOffsetInterval(500);
        java.util.concurrent.ConcurrentLinkedQueue<MessageExt> got = new java.util.concurrent.ConcurrentLinkedQueue<>();
        try {
            c.subscribe(TOPIC_BATCH, "TagB0 || TagB2");
            c.registerMessageListener((org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently)
                    (msgs, ctx) -> {
                        got.addAll(msgs);
                        return org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                    });
            c.start();
            long deadline = System.currentTimeMillis() + 20_000;
            while (got.size() < 2 && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
            List<MessageExt> list = new ArrayList<>(got);
            list.sort(java.util.Comparator.comparingLong(MessageExt::getQueueOffset));
            obs.put("push.received count", String.valueOf(list.size()));
            for (int i = 0; i < list.size() && i < 2; i++) {
                MessageExt m = list.get(i);
                TreeMap<String, String> pr = new TreeMap<>();
                for (Map.Entry<String, String> e : m.getProperties().entrySet()) {
                    String v = e.getKey().equals("CONSUME_START_TIME") ? plausibleTime(Long.parseLong(e.getValue()))
                            : e.getKey().equals("UNIQ_KEY") ? "<" + e.getValue().length() + " hex>" : obs.norm(e.getValue());
                    pr.put(e.getKey(), v);
                }
                obs.put("push.received [" + i + "] queueOffset/tags", m.getQueueOffset() + "/" + m.getTags());
                obs.put("push.received [" + i + "] properties seen by the listener", pr.toString());
            }
            c.getDefaultMQPushConsumerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
            // The client's first scheduled offset persist comes 10 s after start: persist now (a oneway
            // UPDATE_CONSUMER_OFFSET), then a bounded wait (5 s) until the broker has it.
            Thread.sleep(200); // the listener returned; the process queue marks the offset after it
            c.getDefaultMQPushConsumerImpl().persistConsumerOffset();
            for (int i = 0; i < 50; i++) {
                RemotingCommand q = req(broker, QUERY_CONSUMER_OFFSET,
                        ext("consumerGroup", "DiffPushGroup", "topic", TOPIC_BATCH, "queueId", "0"), null);
                if (q.getCode() == 0 && Long.parseLong(q.getExtFields().get("offset")) >= 3) {
                    break;
                }
                Thread.sleep(100);
            }
            obs.put("mqadmin consumerConnection", mqadmin("consumerConnection", "-g", "DiffPushGroup", "-n", namesrv));
            obs.put("mqadmin consumerProgress -g live", mqadmin("consumerProgress", "-g", "DiffPushGroup", "-n", namesrv)
                    .replaceAll("(?m)^(Consume TPS:\\s*).*$", "$1<tps>"));
            RemotingCommand r = req(broker, GET_CONSUMER_LIST_BY_GROUP, ext("consumerGroup", "DiffPushGroup"), null);
            recordResponse("consumerList live group", r, false);
            obs.put("consumerList live group body", obs.norm(bodyText(r)));
            recordResponse("consumerOffset.query live group", req(broker, QUERY_CONSUMER_OFFSET,
                    ext("consumerGroup", "DiffPushGroup", "topic", TOPIC_BATCH, "queueId", "0"), null), true);
        } finally {
            c.shutdown();
        }
    }

    void configure(DefaultMQProducer p, String role) {
        p.setNamesrvAddr(namesrv);
        p.setClientIP("127.0.0.1");
        p.setInstanceName("diff-" + role + "-" + ProcessHandle.current().pid());
        p.setVipChannelEnabled(false);
        p.setSendMsgTimeout((int) TIMEOUT_MS);
    }

    // ------------------------------------------------------------------ mqadmin

    /** Runs one mqadmin subcommand in this JVM and returns its normalised output. */
    String mqadmin(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream cap = new PrintStream(buf, true, StandardCharsets.UTF_8);
        try {
            System.setOut(cap);
            System.setErr(cap);
            MQAdminStartup.main0(args, null);
        } catch (Throwable t) {
            cap.println("mqadmin threw " + t);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        StringBuilder sb = new StringBuilder();
        for (String line : buf.toString(StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith("\tat ") || line.matches("\\s+\\.\\.\\. \\d+ more")) {
                continue; // stack frames: only exception lines are observable
            }
            sb.append(obs.norm(line.replaceAll("\\s+$", ""))).append('\n');
        }
        return sb.toString();
    }

    void admin(String key, String... args) {
        admin(key, -1, args);
    }

    /**
     * Runs an mqadmin subcommand; with headerLines >= 0 the lines after the header are sorted (for
     * outputs whose row order is a Java HashMap's iteration order, not something a server decides).
     */
    void admin(String key, int headerLines, String... args) {
        List<String> full = new ArrayList<>(Arrays.asList(args));
        full.add("-n");
        full.add(namesrv);
        step("mqadmin " + key, () -> {
            String text = mqadmin(full.toArray(new String[0]));
            if (headerLines >= 0) {
                List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n")));
                int h = Math.min(headerLines, lines.size());
                List<String> rows = new ArrayList<>(lines.subList(h, lines.size()));
                rows.removeIf(String::isBlank);
                rows.sort(null);
                StringBuilder sb = new StringBuilder();
                for (String l : lines.subList(0, h)) {
                    sb.append(l).append('\n');
                }
                for (String r : rows) {
                    sb.append(r).append('\n');
                }
                text = sb.toString();
            }
            obs.put("mqadmin " + key, text);
        });
    }

    /** mqadmin key listings and the observation prefix of the raw request they render. */
    final Map<String, String> rawKeyPrefix = Map.of("brokerStatus", "broker.runtimeInfo key ",
            "getBrokerConfig", "broker.config key ", "getNamesrvConfig", "ns.config key ");

    void adminKeys(String key, String... args) {
        List<String> full = new ArrayList<>(Arrays.asList(args));
        full.add("-n");
        full.add(namesrv);
        step("mqadmin " + key, () -> {
            String text = mqadmin(full.toArray(new String[0]));
            TreeSet<String> keys = new TreeSet<>();
            List<String> other = new ArrayList<>();
            for (String line : text.split("\n")) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("^\\s*([A-Za-z0-9_.<>/-]+)\\s*[:=]").matcher(line);
                if (m.find()) {
                    keys.add(m.group(1));
                } else if (!line.isBlank()) {
                    other.add(line);
                }
            }
            TreeSet<String> raw = new TreeSet<>();
            String prefix = rawKeyPrefix.get(key);
            for (String k : obs.values.keySet()) {
                if (prefix != null && k.startsWith(prefix)) {
                    raw.add(k.substring(prefix.length()));
                }
            }
            TreeSet<String> onlyAdmin = new TreeSet<>(keys);
            onlyAdmin.removeAll(raw);
            TreeSet<String> onlyRaw = new TreeSet<>(raw);
            onlyRaw.removeAll(keys);
            obs.put("mqadmin " + key + " keys versus the raw response",
                    onlyAdmin.isEmpty() && onlyRaw.isEmpty() ? "the same keys"
                            : "only in mqadmin: " + onlyAdmin + "; only in the raw response: " + onlyRaw);
            other.replaceAll(l -> l.replaceAll("(commitLogDiskRatio_\\S*\\s*[:=]\\s*)\\S+", "$1<ratio>"));
            obs.put("mqadmin " + key + " other lines", String.join("\n", other));
        });
    }

    void admin() throws Exception {
        Files.createDirectories(tmp.resolve("mqadmin"));
        step("mqadmin clusterList", () -> {
            // #InTPS/#OutTPS (load), #PCWait, #Hour and #SPACE depend on timing and on the disk.
            String text = mqadmin("clusterList", "-n", namesrv);
            StringBuilder sb = new StringBuilder();
            for (String line : text.split("\n")) {
                String[] cols = line.trim().split("\\s+");
                if (line.startsWith("#") || cols.length < 6) {
                    sb.append(line).append('\n');
                    continue;
                }
                obs.put("mqadmin clusterList #Version", cols[4]);
                cols[4] = "<version>";
                sb.append(String.join(" ", Arrays.copyOf(cols, 5)));
                sb.append(" + ").append(cols.length - 5).append(" timing-dependent columns\n");
            }
            obs.put("mqadmin clusterList", sb.toString());
        });
        admin("topicList", 0, "topicList");
        admin("topicList -c", 1, "topicList", "-c");
        admin("topicRoute", "topicRoute", "-t", TOPIC);
        admin("topicStatus", "topicStatus", "-t", TOPIC);
        admin("topicClusterList", "topicClusterList", "-t", TOPIC);
        admin("updateTopic", "updateTopic", "-t", "DiffAdminTopic", "-b", broker, "-r", "3", "-w", "3");
        admin("updateTopicPerm", "updateTopicPerm", "-t", "DiffAdminTopic", "-b", broker, "-p", "4");
        admin("updateSubGroup", "updateSubGroup", "-g", "DiffAdminGroup", "-b", broker);
        admin("getConsumerConfig", "getConsumerConfig", "-g", "DiffAdminGroup");
        admin("deleteSubGroup", "deleteSubGroup", "-g", "DiffAdminGroup", "-b", broker);
        adminKeys("brokerStatus", "brokerStatus", "-b", broker);
        adminKeys("getBrokerConfig", "getBrokerConfig", "-b", broker);
        adminKeys("getNamesrvConfig", "getNamesrvConfig");
        admin("consumerProgress -g", "consumerProgress", "-g", "DiffGroupOff");
        step("mqadmin consumerProgress", () -> {
            // Rows sorted (HashMap order); #TPS (second-last column) is a rate, i.e. timing.
            String[] lines = mqadmin("consumerProgress", "-n", namesrv).split("\n");
            List<String> rows = new ArrayList<>();
            for (int i = 1; i < lines.length; i++) {
                String[] t = lines[i].trim().split("\\s+");
                if (t.length >= 3) {
                    t[t.length - 2] = "<tps>";
                    rows.add(String.join(" ", t));
                }
            }
            rows.sort(null);
            obs.put("mqadmin consumerProgress", (lines.length > 0 ? lines[0] : "") + "\n" + String.join("\n", rows));
        });
        admin("queryMsgByKey", "queryMsgByKey", "-t", TOPIC, "-k", "diffKey1");
        admin("queryMsgByUniqueKey", "queryMsgByUniqueKey", "-t", TOPIC, "-i", "0A0B0C0D0E0F00000000000000000001");
        admin("queryMsgByOffset", "queryMsgByOffset", "-t", TOPIC, "-b", BROKER_NAME, "-i", "0", "-o", "0");
        admin("printMsgByQueue", "printMsgByQueue", "-t", TOPIC, "-a", BROKER_NAME, "-i", "0");
        admin("printMsg", "printMsg", "-t", TOPIC_SQL);
        step("mqadmin statsAll", () -> {
            // Rows sorted (HashMap order); of the numbers only #Accumulation is kept: TPS and the
            // 24-hour counts come from per-minute samples, i.e. from timing.
            List<String> rows = new ArrayList<>();
            String[] lines = mqadmin("statsAll", "-n", namesrv).split("\n");
            for (int i = 1; i < lines.length; i++) {
                if (lines[i].isBlank()) {
                    continue;
                }
                StringBuilder row = new StringBuilder();
                boolean firstNumber = true;
                for (String tok : lines[i].trim().split("\\s+")) {
                    if (tok.matches("-?\\d+(\\.\\d+)?")) {
                        row.append(firstNumber ? tok : "<n>").append(' ');
                        firstNumber = false;
                    } else {
                        row.append(tok).append(' ');
                    }
                }
                rows.add(row.toString().trim());
            }
            rows.sort(null);
            obs.put("mqadmin statsAll", (lines.length > 0 ? lines[0] : "") + "\n" + String.join("\n", rows));
        });
        admin("brokerConsumeStats", "brokerConsumeStats", "-b", broker);
        admin("updateKvConfig", "updateKvConfig", "-s", "DiffNs", "-k", "k2", "-v", "v2");
        admin("deleteKvConfig", "deleteKvConfig", "-s", "DiffNs", "-k", "k2");
        admin("allocateMQ", "allocateMQ", "-t", TOPIC, "-i", "127.0.0.1@a,127.0.0.1@b");
        admin("deleteTopic", "deleteTopic", "-t", "DiffAdminTopic", "-c", CLUSTER);
        if (firstOffsetMsgId != null) {
            admin("queryMsgById", "queryMsgById", "-i", firstOffsetMsgId);
        }
        admin("queryCq", "queryCq", "-t", TOPIC, "-q", "0", "-i", "0", "-c", "4", "-b", broker);
        admin("sendMessage", "sendMessage", "-t", TOPIC_SQL, "-p", "from-mqadmin", "-b", BROKER_NAME, "-i", "0");
        admin("consumeMessage", "consumeMessage", "-t", TOPIC_SQL, "-b", BROKER_NAME, "-i", "0", "-o", "0", "-c", "2");
        admin("skipAccumulatedMessage", "skipAccumulatedMessage", "-g", "DiffGroupOff", "-t", TOPIC);
        admin("resetOffsetByTime", "resetOffsetByTime", "-g", "DiffGroupOff", "-t", TOPIC, "-s", "0");
        admin("updateBrokerConfig", "updateBrokerConfig", "-b", broker, "-k", "fileReservedTime", "-v", "48");
        admin("updateNamesrvConfig", "updateNamesrvConfig", "-k", "orderMessageEnable", "-v", "false");
        admin("cleanExpiredCQ", "cleanExpiredCQ", "-b", broker);
        admin("deleteExpiredCommitLog", "deleteExpiredCommitLog", "-b", broker);
    }

    /** Last of all: the broker's write permission is taken away and given back. */
    void writePerm() {
        admin("wipeWritePerm", "wipeWritePerm", "-b", BROKER_NAME);
        step("wipeWritePerm then send", () -> recordResponse("send.after wipeWritePerm",
                send(TOPIC, 0, "x".getBytes(StandardCharsets.UTF_8), props(), 0, false), true, "msgId", "queueOffset"));
        step("wipeWritePerm then route", () -> {
            RemotingCommand r = req(namesrv, GET_ROUTEINFO_BY_TOPIC, ext("topic", TOPIC), null);
            JSONObject o = r.getCode() == 0 ? JSON.parseObject(bodyText(r)) : null;
            obs.putNorm("route.after wipeWritePerm queueDatas", o == null ? codeName(r.getCode())
                    : String.valueOf(o.get("queueDatas")));
        });
        admin("addWritePerm", "addWritePerm", "-b", BROKER_NAME);
    }
}
