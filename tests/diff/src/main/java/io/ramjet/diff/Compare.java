package io.ramjet.diff;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONObject;
import com.alibaba.fastjson.parser.Feature;

/**
 * Compares the observations of the Apache run with those of the Ramjet run and writes a markdown
 * report. An observable missing on one side counts as a difference ("<absent>"). A difference is
 * explained when an allow-list entry's regular expression matches the whole observable name.
 * Exit status: 0 when every difference is explained, 1 otherwise, 2 on bad input.
 *
 * <p>Usage: {@code Compare <apache.json> <ramjet.json> <allowlist.txt> <report.md>}
 */
public final class Compare {
    /** when: "any", "extra" (only Ramjet has the observable) or "missing" (only Apache has it). */
    record Allow(String when, Pattern pattern, String source, String reason, int[] hits) {
        boolean applies(String key, String apacheValue, String ramjetValue) {
            if (when.equals("extra") && !apacheValue.equals("<absent>")) {
                return false;
            }
            if (when.equals("missing") && !ramjetValue.equals("<absent>")) {
                return false;
            }
            return pattern.matcher(key).matches();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--check")) {
            check(Paths.get(args[1]));
            return;
        }
        Map<String, String> a = load(Paths.get(args[0]));
        Map<String, String> r = load(Paths.get(args[1]));
        List<Allow> allow = loadAllow(Paths.get(args[2]));
        LinkedHashSet<String> keys = new LinkedHashSet<>(a.keySet());
        keys.addAll(r.keySet());

        int equal = 0;
        // area (observable name up to the first '.' or ' ') -> {equal, allowed, different}
        Map<String, int[]> areas = new java.util.TreeMap<>();
        List<String[]> unexplained = new ArrayList<>();
        List<String[]> explained = new ArrayList<>();
        StringBuilder table = new StringBuilder();
        table.append("| # | observable | Apache | Ramjet | result |\n|---|---|---|---|---|\n");
        StringBuilder details = new StringBuilder();
        int n = 0;
        for (String k : keys) {
            n++;
            String av = a.getOrDefault(k, "<absent>");
            String rv = r.getOrDefault(k, "<absent>");
            String result;
            String area = k.split("[. ]", 2)[0];
            int[] counts = areas.computeIfAbsent(area, x -> new int[3]);
            if (av.equals(rv)) {
                counts[0]++;
                equal++;
                result = "equal";
            } else {
                Allow hit = null;
                for (Allow al : allow) {
                    if (al.applies(k, av, rv)) {
                        hit = al;
                        al.hits[0]++;
                        break;
                    }
                }
                if (hit != null) {
                    counts[1]++;
                    explained.add(new String[] {k, hit.reason});
                    result = "allowed: " + hit.reason;
                } else {
                    counts[2]++;
                    unexplained.add(new String[] {k, av, rv});
                    result = "**DIFFERENT**";
                    if (av.contains("\n") || rv.contains("\n") || av.length() > 160 || rv.length() > 160) {
                        details.append("### ").append(k).append("\n\n").append(lineDiff(av, rv)).append("\n");
                    }
                }
            }
            table.append("| ").append(n).append(" | ").append(cell(k, 200)).append(" | ").append(cell(av, 160))
                    .append(" | ").append(cell(rv, 160)).append(" | ").append(cell(result, 200)).append(" |\n");
        }

        StringBuilder md = new StringBuilder();
        md.append("# Differential report: Apache RocketMQ versus Ramjet\n\n");
        md.append("- observables: ").append(keys.size()).append("\n");
        md.append("- equal: ").append(equal).append("\n");
        md.append("- different, explained by the allow-list: ").append(explained.size()).append("\n");
        md.append("- different, unexplained: ").append(unexplained.size()).append("\n");
        List<String> harnessA = harnessErrors(Paths.get(args[0]));
        List<String> harnessR = harnessErrors(Paths.get(args[1]));
        md.append("- harness errors: Apache ").append(harnessA.size()).append(", Ramjet ").append(harnessR.size())
                .append("\n\n");
        for (String e : harnessA) {
            md.append("  - Apache: ").append(cell(e, 400)).append("\n");
        }
        for (String e : harnessR) {
            md.append("  - Ramjet: ").append(cell(e, 400)).append("\n");
        }
        md.append("| area | observables | equal | allowed | different |\n|---|---|---|---|---|\n");
        for (Map.Entry<String, int[]> e : areas.entrySet()) {
            int[] c = e.getValue();
            md.append("| ").append(e.getKey()).append(" | ").append(c[0] + c[1] + c[2]).append(" | ").append(c[0])
                    .append(" | ").append(c[1]).append(" | ").append(c[2]).append(" |\n");
        }
        md.append("\n");
        if (!unexplained.isEmpty()) {
            md.append("## Unexplained differences\n\n");
            for (String[] u : unexplained) {
                md.append("- `").append(u[0]).append("`: Apache `").append(oneLine(u[1], 200))
                        .append("` / Ramjet `").append(oneLine(u[2], 200)).append("`\n");
            }
            md.append("\n");
        }
        md.append("## All observables\n\n").append(table).append("\n");
        if (details.length() > 0) {
            md.append("## Details of long differing values (- Apache, + Ramjet)\n\n").append(details);
        }
        List<String> unused = new ArrayList<>();
        for (Allow al : allow) {
            if (al.hits[0] == 0) {
                unused.add(al.source);
            }
        }
        if (!unused.isEmpty()) {
            md.append("\n## Allow-list entries that matched no difference in this run\n\n");
            for (String u : unused) {
                md.append("- `").append(u).append("`\n");
            }
        }
        Files.writeString(Paths.get(args[3]), md.toString());
        System.out.printf("compare: %d observables, %d equal, %d allowed differences, %d unexplained differences%n",
                keys.size(), equal, explained.size(), unexplained.size());
        int shown = 0;
        for (String[] u : unexplained) {
            if (++shown > 40) {
                System.out.println("  ... " + (unexplained.size() - 40) + " more: see " + args[3]);
                break;
            }
            System.out.println("  DIFFERENT " + u[0] + ": apache=" + oneLine(u[1], 120) + " ramjet="
                    + oneLine(u[2], 120));
        }
        System.exit(unexplained.isEmpty() && harnessA.isEmpty() ? 0 : 1);
    }

    /**
     * The Ramjet-only verdict: the scenarios completed (enough observations, no harness error such
     * as a timeout, a refused connection or a runner crash). Exit 1 otherwise.
     */
    static void check(Path p) throws Exception {
        Map<String, String> obs = load(p);
        List<String> errs = harnessErrors(p);
        System.out.printf("check: %d observations, %d harness errors%n", obs.size(), errs.size());
        for (String e : errs) {
            System.out.println("  " + e);
        }
        System.exit(errs.isEmpty() && obs.size() >= MIN_OBSERVATIONS ? 0 : 1);
    }

    /** Fewer observations than this means scenarios were skipped (the full set is several hundred). */
    static final int MIN_OBSERVATIONS = 300;

    static Map<String, String> load(Path p) throws Exception {
        JSONObject o = JSON.parseObject(Files.readString(p, StandardCharsets.UTF_8), Feature.OrderedField);
        JSONObject obs = o.getJSONObject("observations");
        Map<String, String> m = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : obs.entrySet()) {
            m.put(e.getKey(), String.valueOf(e.getValue()));
        }
        return m;
    }

    static List<String> harnessErrors(Path p) throws Exception {
        JSONObject o = JSON.parseObject(Files.readString(p, StandardCharsets.UTF_8));
        return o.getJSONArray("harnessErrors") == null ? List.of()
                : o.getJSONArray("harnessErrors").toJavaList(String.class);
    }

    /**
     * Allow-list lines: {@code [extra|missing] <regex on the observable name> :: <why this difference is
     * legitimate>}; "extra" limits the entry to observables only Ramjet has, "missing" to observables
     * only Apache has. Blank lines and lines starting with '#' are comments. An entry without a
     * reason is an error.
     */
    static List<Allow> loadAllow(Path p) throws Exception {
        List<Allow> out = new ArrayList<>();
        if (!Files.exists(p)) {
            return out;
        }
        int ln = 0;
        for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
            ln++;
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            int i = t.indexOf(" :: ");
            if (i <= 0 || t.substring(i + 4).isBlank()) {
                System.err.println(p + ":" + ln + ": expected '<regex> :: <reason>'");
                System.exit(2);
            }
            String re = t.substring(0, i).trim();
            String when = "any";
            for (String w : new String[] {"extra ", "missing "}) {
                if (re.startsWith(w)) {
                    when = w.trim();
                    re = re.substring(w.length()).trim();
                }
            }
            out.add(new Allow(when, Pattern.compile(re), t.substring(0, i).trim(), t.substring(i + 4).trim(),
                    new int[1]));
        }
        return out;
    }

    static String oneLine(String s, int max) {
        s = s.replace("\n", "⏎");
        return s.length() > max ? s.substring(0, max) + "…" : s;
    }

    static String cell(String s, int max) {
        s = oneLine(s, max).replace("|", "\\|").replace("`", "'");
        return s;
    }

    /** Flattens a JSON object one level deep: {"p":{"k":"v"}} becomes p.k=v. Null if not an object. */
    static Map<String, String> flatJson(String s) {
        if (!s.startsWith("{\"")) {
            return null;
        }
        try {
            JSONObject o = JSON.parseObject(s, Feature.OrderedField);
            Map<String, String> m = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : o.entrySet()) {
                if (e.getValue() instanceof JSONObject inner) {
                    for (Map.Entry<String, Object> ie : inner.entrySet()) {
                        m.put(e.getKey() + "." + ie.getKey(), String.valueOf(ie.getValue()));
                    }
                } else {
                    m.put(e.getKey(), String.valueOf(e.getValue()));
                }
            }
            return m;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** A minimal line diff (longest common subsequence), enough for mqadmin outputs. */
    static String lineDiff(String a, String b) {
        Map<String, String> ja = flatJson(a);
        Map<String, String> jb = flatJson(b);
        if (ja != null && jb != null && !ja.equals(jb)) {
            LinkedHashSet<String> fields = new LinkedHashSet<>(ja.keySet());
            fields.addAll(jb.keySet());
            StringBuilder sb = new StringBuilder("| field | Apache | Ramjet |\n|---|---|---|\n");
            for (String f : fields) {
                String x = ja.getOrDefault(f, "<absent>");
                String y = jb.getOrDefault(f, "<absent>");
                if (!x.equals(y)) {
                    sb.append("| ").append(cell(f, 80)).append(" | ").append(cell(x, 120)).append(" | ")
                            .append(cell(y, 120)).append(" |\n");
                }
            }
            return sb.toString();
        }
        String[] x = a.split("\n", -1);
        String[] y = b.split("\n", -1);
        if (x.length == 1 && y.length == 1) {
            return "```\n- " + a + "\n+ " + b + "\n```\n";
        }
        int[][] l = new int[x.length + 1][y.length + 1];
        for (int i = x.length - 1; i >= 0; i--) {
            for (int j = y.length - 1; j >= 0; j--) {
                l[i][j] = x[i].equals(y[j]) ? l[i + 1][j + 1] + 1 : Math.max(l[i + 1][j], l[i][j + 1]);
            }
        }
        StringBuilder sb = new StringBuilder("```diff\n");
        int i = 0;
        int j = 0;
        while (i < x.length || j < y.length) {
            if (i < x.length && j < y.length && x[i].equals(y[j])) {
                sb.append("  ").append(x[i]).append('\n');
                i++;
                j++;
            } else if (j < y.length && (i == x.length || l[i][j + 1] >= l[i + 1][j])) {
                sb.append("+ ").append(y[j]).append('\n');
                j++;
            } else {
                sb.append("- ").append(x[i]).append('\n');
                i++;
            }
        }
        return sb.append("```\n").toString();
    }
}
