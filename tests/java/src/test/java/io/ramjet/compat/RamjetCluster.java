package io.ramjet.compat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import org.apache.rocketmq.client.ClientConfig;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * JUnit 5 extension that runs the real {@code ramjet-namesrv} and {@code ramjet-broker} as child
 * processes on loopback, on free random ports, with a fresh temporary directory per test class.
 *
 * <p>Use as {@code @RegisterExtension static final RamjetCluster cluster = new RamjetCluster();}.
 * The servers start before the first test of the class and are stopped (SIGTERM, bounded wait,
 * then SIGKILL) after the last. When a test fails, the tails of both server logs are printed.
 * The temporary directory is removed when every test passed and kept (and named) otherwise.
 */
public final class RamjetCluster implements BeforeAllCallback, AfterAllCallback,
        TestExecutionExceptionHandler, LifecycleMethodExecutionExceptionHandler {

    static {
        // Also set by Surefire; repeated here so that an IDE run is just as quiet.
        setDefault("rocketmq.client.logUseSlf4j", "true");
        // Rebalance every second instead of every 20 s, so a new consumer gets its queues quickly.
        setDefault("rocketmq.client.rebalance.waitInterval", "1000");
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    static final long PORT_WAIT_MS = 20_000;
    static final long STOP_WAIT_MS = 20_000;
    static final int LOG_TAIL_LINES = 80;

    private static final AtomicInteger CLIENT_SEQ = new AtomicInteger();

    private final String brokerName = "broker-java";
    private Path binDir;
    private Path tmpDir;
    private Process namesrv;
    private Process broker;
    private Path namesrvLog;
    private Path brokerLog;
    private int namesrvPort;
    private int brokerPort;
    private boolean failed;
    private final List<AutoCloseable> clients = new ArrayList<>();
    private final List<String> extraBrokerArgs;
    private List<String> extraNamesrvArgs = List.of();

    /** Servers with the default configuration. */
    public RamjetCluster() {
        this(new String[0]);
    }

    /**
     * Servers where the broker gets {@code extraBrokerArgs} (e.g. {@code "--enablePropertyFilter=true"})
     * after the harness's own arguments.
     */
    public RamjetCluster(String... extraBrokerArgs) {
        this.extraBrokerArgs = List.of(extraBrokerArgs);
    }

    /** Also gives the name server {@code args} (e.g. {@code "--tlsMode=enforcing"}). */
    public RamjetCluster withNamesrvArgs(String... args) {
        this.extraNamesrvArgs = List.of(args);
        return this;
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        String dir = System.getenv("RAMJET_BIN_DIR");
        if (dir == null || dir.isEmpty()) {
            dir = System.getProperty("ramjet.bin.dir", "../../build/apps");
        }
        binDir = Paths.get(dir).toAbsolutePath().normalize();
        Path namesrvBin = binDir.resolve("ramjet-namesrv");
        Path brokerBin = binDir.resolve("ramjet-broker");
        for (Path bin : List.of(namesrvBin, brokerBin)) {
            if (!Files.isExecutable(bin)) {
                throw new IllegalStateException("not an executable: " + bin
                        + " (set RAMJET_BIN_DIR to the directory holding ramjet-namesrv and ramjet-broker)");
            }
        }
        tmpDir = Files.createTempDirectory("ramjet-java-");
        namesrvLog = tmpDir.resolve("namesrv.log");
        brokerLog = tmpDir.resolve("broker.log");
        Runtime.getRuntime().addShutdownHook(new Thread(this::killAll, "ramjet-cluster-kill"));

        namesrvPort = pickFreePort(0);
        List<String> namesrvCmd = new ArrayList<>(List.of(namesrvBin.toString(),
                "--listenPort=" + namesrvPort,
                "--kvConfigPath=" + tmpDir.resolve("kv.json")));
        namesrvCmd.addAll(extraNamesrvArgs);
        namesrv = start(namesrvLog, namesrvCmd.toArray(new String[0]));
        awaitPort("namesrv", namesrv, namesrvLog, namesrvPort);

        brokerPort = pickFreePort(2); // bp-2 (VIP), bp and bp+1 (HA) all free
        List<String> brokerCmd = new ArrayList<>(List.of(brokerBin.toString(),
                "--namesrvAddr=" + namesrvAddr(),
                "--listenPort=" + brokerPort,
                "--brokerIP1=127.0.0.1",
                "--storePathRootDir=" + tmpDir.resolve("store"),
                "--brokerName=" + brokerName));
        brokerCmd.addAll(extraBrokerArgs);
        broker = start(brokerLog, brokerCmd.toArray(new String[0]));
        awaitPort("broker", broker, brokerLog, brokerPort);
        System.out.printf("[ramjet] %s: namesrv 127.0.0.1:%d, broker 127.0.0.1:%d, dir %s%n",
                context.getDisplayName(), namesrvPort, brokerPort, tmpDir);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        closeClients();
        List<String> problems = new ArrayList<>();
        stop("broker", broker, brokerLog, problems);
        stop("namesrv", namesrv, namesrvLog, problems);
        if (context.getExecutionException().isPresent()) {
            failed = true;
        }
        if (!problems.isEmpty()) {
            failed = true;
        }
        if (failed) {
            System.out.println("[ramjet] kept " + tmpDir);
        } else if (tmpDir != null) {
            deleteTree(tmpDir);
        }
        if (!problems.isEmpty()) {
            throw new AssertionError("server shutdown: " + String.join("; ", problems));
        }
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        onFailure(context.getDisplayName(), throwable);
        throw throwable;
    }

    @Override
    public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        onFailure(context.getDisplayName() + " (beforeAll)", throwable);
        throw throwable;
    }

    @Override
    public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        onFailure(context.getDisplayName() + " (beforeEach)", throwable);
        throw throwable;
    }

    @Override
    public void handleAfterEachMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        onFailure(context.getDisplayName() + " (afterEach)", throwable);
        throw throwable;
    }

    private void onFailure(String what, Throwable throwable) {
        failed = true;
        System.out.println("[ramjet] FAILED " + what + ": " + throwable);
        printLogTails();
    }

    public void printLogTails() {
        printTail("namesrv", namesrvLog);
        printTail("broker", brokerLog);
    }

    // ---------------------------------------------------------------- accessors

    /** The directory of the ramjet binaries (ramjet-admin, ...). */
    public Path binDir() {
        return binDir;
    }

    public String namesrvAddr() {
        return "127.0.0.1:" + namesrvPort;
    }

    public String brokerAddr() {
        return "127.0.0.1:" + brokerPort;
    }

    public String brokerName() {
        return brokerName;
    }

    public Path tmpDir() {
        return tmpDir;
    }

    /** The broker's output so far (for tests that check what it logged). */
    public String brokerLogText() {
        try {
            return Files.readString(brokerLog, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** The name server's output so far. */
    public String namesrvLogText() {
        try {
            return Files.readString(namesrvLog, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    public boolean brokerAlive() {
        return broker != null && broker.isAlive();
    }

    // ---------------------------------------------------------------- clients

    /** A unique name for topics and groups: {@code prefix-<random>}. */
    public static String unique(String prefix) {
        return prefix + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffffL);
    }

    private static String instanceName(String role) {
        return "java-" + role + "-" + ProcessHandle.current().pid() + "-" + CLIENT_SEQ.incrementAndGet();
    }

    /**
     * A started-later producer (call {@code start()}): loopback name server, no VIP channel,
     * client id {@code 127.0.0.1@<unique instance name>}. Shut down by the extension at the end.
     */
    public DefaultMQProducer newProducer(String group) {
        return configure(new DefaultMQProducer(group));
    }

    /**
     * A producer with message trace on ({@code new DefaultMQProducer(group, true, null)}): every
     * send is also recorded in RMQ_SYS_TRACE_TOPIC by the client's trace dispatcher.
     */
    public DefaultMQProducer newTracingProducer(String group) {
        return configure(new DefaultMQProducer(group, true, null));
    }

    /** A transactional producer (not started); the test sets its TransactionListener. */
    public TransactionMQProducer newTransactionProducer(String group) {
        return configure(new TransactionMQProducer(group));
    }

    private <P extends DefaultMQProducer> P configure(P p) {
        configureClient(p, "p");
        p.setSendMsgTimeout(10_000);
        clients.add(p::shutdown);
        return p;
    }

    private void configureClient(ClientConfig c, String role) {
        c.setNamesrvAddr(namesrvAddr());
        c.setClientIP("127.0.0.1");
        c.setInstanceName(instanceName(role));
        c.setVipChannelEnabled(false);
        c.setPollNameServerInterval(1_000);
        c.setHeartbeatBrokerInterval(5_000);
    }

    /** A push consumer (not started), clustering, CONSUME_FROM_FIRST_OFFSET. */
    public DefaultMQPushConsumer newPushConsumer(String group) {
        return configure(new DefaultMQPushConsumer(group));
    }

    /** A push consumer with message trace on ({@code new DefaultMQPushConsumer(group, true, null)}). */
    public DefaultMQPushConsumer newTracingPushConsumer(String group) {
        return configure(new DefaultMQPushConsumer(group, true, null));
    }

    private DefaultMQPushConsumer configure(DefaultMQPushConsumer c) {
        configureClient(c, "c");
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        clients.add(c::shutdown);
        return c;
    }

    /** A DefaultMQPullConsumer (not started); offsets are persisted to the broker every second. */
    @SuppressWarnings("deprecation") // DefaultMQPullConsumer: deprecated in favour of the lite pull consumer
    public DefaultMQPullConsumer newPullConsumer(String group) {
        DefaultMQPullConsumer c = new DefaultMQPullConsumer(group);
        configureClient(c, "pc");
        c.setPersistConsumerOffsetInterval(1_000);
        clients.add(c::shutdown);
        return c;
    }

    /** A DefaultLitePullConsumer (not started), CONSUME_FROM_FIRST_OFFSET. */
    public DefaultLitePullConsumer newLitePullConsumer(String group) {
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(group);
        configureClient(c, "lc");
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPollTimeoutMillis(500);
        clients.add(c::shutdown);
        return c;
    }

    /**
     * Creates {@code topic} with {@code queues} read/write queues on the broker (UPDATE_AND_CREATE_TOPIC
     * through the client's MQAdminImpl, found via the TBW102 route) and waits until the name server
     * routes it with that many queues. Bounded: 20 s. (DefaultMQProducer.createTopic is deprecated in
     * 4.9.8 in favour of rocketmq-tools' admin API, which this module deliberately does not use.)
     */
    public List<MessageQueue> createTopic(DefaultMQProducer startedProducer, String topic, int queues)
            throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        Exception last = null;
        for (int attempt = 0; attempt < 100 && System.currentTimeMillis() < deadline; attempt++) {
            try {
                createTopicCall(startedProducer, topic, queues);
                last = null;
                break;
            } catch (MQClientException e) { // TBW102 not routed yet (broker not registered)
                last = e;
                Thread.sleep(200);
            }
        }
        if (last != null) {
            throw new AssertionError("createTopic " + topic + " failed within 20 s", last);
        }
        List<MessageQueue> mqs = null;
        for (int attempt = 0; attempt < 200 && System.currentTimeMillis() < deadline; attempt++) {
            try {
                mqs = startedProducer.fetchPublishMessageQueues(topic);
                if (mqs.size() == queues) {
                    return mqs;
                }
            } catch (MQClientException e) {
                last = e;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("topic " + topic + " not routed with " + queues + " queues within 20 s, last: "
                + mqs, last);
    }

    /**
     * {@code createTopic("TBW102", topic, queues)}: 4.9.8 has {@code createTopic(String, String, int)};
     * 5.x replaced it by {@code createTopic(String, String, int, Map<String, String> attributes)}.
     * Reflection keeps one test source for both clients (both send UPDATE_AND_CREATE_TOPIC).
     */
    static void createTopicCall(DefaultMQProducer p, String topic, int queues) throws Exception {
        java.lang.reflect.Method m;
        Object[] args;
        try {
            m = DefaultMQProducer.class.getMethod("createTopic", String.class, String.class, int.class);
            args = new Object[] {"TBW102", topic, queues};
        } catch (NoSuchMethodException e) {
            m = DefaultMQProducer.class.getMethod("createTopic", String.class, String.class, int.class,
                    java.util.Map.class);
            args = new Object[] {"TBW102", topic, queues, new java.util.HashMap<String, String>()};
        }
        try {
            m.invoke(p, args);
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    /**
     * {@code setMessageModel(MessageModel.BROADCASTING)}. MessageModel moved from
     * {@code org.apache.rocketmq.common.protocol.heartbeat} (4.9.8) to
     * {@code org.apache.rocketmq.remoting.protocol.heartbeat} (5.x); the setter's parameter type
     * names the right one for the client on the class path.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static void setBroadcasting(DefaultMQPushConsumer c) throws Exception {
        for (java.lang.reflect.Method m : DefaultMQPushConsumer.class.getMethods()) {
            if (m.getName().equals("setMessageModel") && m.getParameterCount() == 1) {
                Class<? extends Enum> type = (Class<? extends Enum>) m.getParameterTypes()[0];
                m.invoke(c, Enum.valueOf(type, "BROADCASTING"));
                return;
            }
        }
        throw new IllegalStateException("DefaultMQPushConsumer.setMessageModel not found");
    }

    /** Waits until the consumer's rebalance owns {@code queues} queues of {@code topic}. */
    @SuppressWarnings("deprecation") // getDefaultMQPushConsumerImpl(): the only view of the rebalance
    public static void awaitAssigned(DefaultMQPushConsumer consumer, String topic, int queues, long timeoutMs)
            throws InterruptedException {
        boolean ok = waitFor(timeoutMs, () -> consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl()
                .getProcessQueueTable().keySet().stream().filter(mq -> mq.getTopic().equals(topic)).count() == queues);
        if (!ok) {
            throw new AssertionError("consumer " + consumer.getConsumerGroup() + " was not assigned " + queues
                    + " queues of " + topic + " within " + timeoutMs + " ms; has "
                    + consumer.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet());
        }
    }

    /** Polls {@code cond} every 50 ms until true or the timeout; returns its last value. */
    public static boolean waitFor(long timeoutMs, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        long maxPolls = timeoutMs / 50 + 2;
        for (long i = 0; i < maxPolls; i++) {
            if (cond.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() >= deadline) {
                break;
            }
            Thread.sleep(50);
        }
        return cond.getAsBoolean();
    }

    /**
     * Shuts down every client made by this extension so far, all at once: a 5.x push consumer's
     * shutdown alone takes about 3 s (it waits for its executors). Bounded: 30 s in all.
     */
    public void closeClients() {
        List<Thread> threads = new ArrayList<>();
        for (AutoCloseable c : clients) {
            Thread t = new Thread(() -> {
                try {
                    c.close();
                } catch (Exception e) {
                    System.out.println("[ramjet] client shutdown: " + e);
                }
            }, "ramjet-client-shutdown");
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        clients.clear();
        long deadline = System.currentTimeMillis() + 30_000;
        for (Thread t : threads) {
            try {
                t.join(Math.max(1, deadline - System.currentTimeMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (t.isAlive()) {
                System.out.println("[ramjet] a client did not shut down within 30 s");
            }
        }
    }

    // ---------------------------------------------------------------- processes

    static Process start(Path log, String... cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Files.writeString(log, "$ " + String.join(" ", cmd) + "\n", StandardCharsets.UTF_8);
        return pb.start();
    }

    static void awaitPort(String name, Process p, Path log, int port) throws InterruptedException {
        long deadline = System.currentTimeMillis() + PORT_WAIT_MS;
        for (int attempt = 0; attempt < 400; attempt++) {
            if (!p.isAlive()) {
                printTail(name, log);
                throw new IllegalStateException(name + " exited with code " + p.exitValue()
                        + " before accepting connections on " + port + " (log: " + log + ")");
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                return;
            } catch (IOException e) {
                // not yet
            }
            if (System.currentTimeMillis() >= deadline) {
                break;
            }
            Thread.sleep(100);
        }
        printTail(name, log);
        throw new IllegalStateException(name + " did not accept connections on 127.0.0.1:" + port
                + " within " + PORT_WAIT_MS + " ms (log: " + log + ")");
    }

    private static void stop(String name, Process p, Path log, List<String> problems) {
        if (p == null) {
            return;
        }
        if (!p.isAlive()) {
            problems.add(name + " had already exited with code " + p.exitValue());
            printTail(name, log);
            return;
        }
        p.destroy(); // SIGTERM
        try {
            if (!p.waitFor(STOP_WAIT_MS, TimeUnit.MILLISECONDS)) {
                problems.add(name + " did not exit within " + STOP_WAIT_MS + " ms of SIGTERM; killed");
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                printTail(name, log);
            } else if (p.exitValue() != 0) {
                problems.add(name + " exited with code " + p.exitValue() + " after SIGTERM");
                printTail(name, log);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
    }

    private void killAll() {
        for (Process p : new Process[] {broker, namesrv}) {
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /**
     * A random port in 20000..39999 such that {@code port - below .. port + 1} are all free
     * (below = 2 for the broker: VIP port bp-2, bp-1 is not needed but harmless to check).
     */
    static int pickFreePort(int below) {
        for (int attempt = 0; attempt < 500; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(20_000, 40_000);
            boolean free = true;
            for (int q = port - below; q <= port + (below > 0 ? 1 : 0) && free; q++) {
                free = isFree(q);
            }
            if (free) {
                return port;
            }
        }
        throw new IllegalStateException("no free port found in 500 attempts");
    }

    private static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress("0.0.0.0", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void printTail(String name, Path log) {
        if (log == null || !Files.exists(log)) {
            return;
        }
        try {
            List<String> lines = new String(Files.readAllBytes(log), StandardCharsets.UTF_8).lines().toList();
            int from = Math.max(0, lines.size() - LOG_TAIL_LINES);
            System.out.println("----- " + name + " log " + log + " (last " + (lines.size() - from) + " of "
                    + lines.size() + " lines) -----");
            for (String line : lines.subList(from, lines.size())) {
                System.out.println("[" + name + "] " + line);
            }
            System.out.println("----- end of " + name + " log -----");
        } catch (IOException | UncheckedIOException e) {
            System.out.println("[ramjet] cannot read " + log + ": " + e);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // best effort
                }
            });
        } catch (IOException e) {
            System.out.println("[ramjet] cannot delete " + root + ": " + e);
        }
    }
}
