package io.ramjet.mqadmin;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import org.apache.rocketmq.tools.command.MQAdminStartup;

/**
 * Runs Apache's mqadmin ({@code MQAdminStartup.main0}, rocketmq-tools 4.9.8) in this JVM, one
 * command at a time, and returns what it printed (stdout and stderr together), as an operator
 * would see it in a terminal. Every command gets {@code -n <namesrv>} unless it names one.
 */
final class MqAdmin {
    private final String namesrv;

    MqAdmin(String namesrv) throws IOException {
        this.namesrv = namesrv;
        // mqadmin configures logback from $ROCKETMQ_HOME/conf/logback_tools.xml: a quiet one,
        // writing to target/.
        String home = System.getProperty("ramjet.mqadmin.home", "target/mqadmin-home");
        Path conf = Paths.get(home, "conf");
        Files.createDirectories(conf);
        Files.writeString(conf.resolve("logback_tools.xml"),
                "<configuration><root level=\"OFF\"/></configuration>\n", StandardCharsets.UTF_8);
        System.setProperty("rocketmq.home.dir", Paths.get(home).toAbsolutePath().toString());
    }

    /** The output of one mqadmin command. */
    synchronized String run(String... args) {
        List<String> full = new ArrayList<>(List.of(args));
        if (!full.contains("-n")) {
            full.add("-n");
            full.add(namesrv);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8);
        PrintStream out = System.out;
        PrintStream err = System.err;
        System.setOut(capture);
        System.setErr(capture);
        try {
            MQAdminStartup.main0(full.toArray(new String[0]), null);
        } catch (Throwable t) {
            t.printStackTrace(capture);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        out.printf("$ mqadmin %s%n%s%n", String.join(" ", full), indent(text));
        return text;
    }

    private static String indent(String s) {
        StringBuilder b = new StringBuilder();
        int lines = 0;
        for (String line : s.split("\n")) {
            if (lines++ == 40) {
                b.append("    ...\n");
                break;
            }
            b.append("    ").append(line).append('\n');
        }
        return b.toString();
    }
}
