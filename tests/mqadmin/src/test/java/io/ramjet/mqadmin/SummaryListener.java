package io.ramjet.mqadmin;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints Surefire's closing line ({@code Tests run: N, Failures: F, Errors: E, Skipped: S}) to
 * stdout when {@code -Dramjet.printSummary=true} (set by run.sh, which runs Maven with -q and so
 * hides Surefire's own). As in Surefire, an AssertionError is a failure and any other throwable an
 * error; a container (class) that fails outside its tests counts as one error.
 */
public final class SummaryListener implements TestExecutionListener {

    private final AtomicInteger run = new AtomicInteger();
    private final AtomicInteger failures = new AtomicInteger();
    private final AtomicInteger errors = new AtomicInteger();
    private final AtomicInteger skipped = new AtomicInteger();
    private final List<String> notPassed = new ArrayList<>();
    private volatile TestPlan plan;

    private static boolean enabled() {
        return Boolean.getBoolean("ramjet.printSummary");
    }

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
    }

    private String name(TestIdentifier id) {
        TestPlan p = plan;
        String parent = p == null ? "" : p.getParent(id).map(TestIdentifier::getDisplayName).orElse("");
        return parent.isEmpty() || parent.equals("JUnit Jupiter") ? id.getDisplayName()
                : parent + "." + id.getDisplayName();
    }

    @Override
    public void executionSkipped(TestIdentifier id, String reason) {
        if (id.isTest()) {
            skipped.incrementAndGet();
        }
    }

    @Override
    public synchronized void executionFinished(TestIdentifier id, TestExecutionResult result) {
        boolean isTest = id.isTest();
        if (isTest) {
            run.incrementAndGet();
        }
        switch (result.getStatus()) {
            case SUCCESSFUL -> {
            }
            case ABORTED -> {
                if (isTest) {
                    skipped.incrementAndGet();
                }
            }
            case FAILED -> {
                Throwable t = result.getThrowable().orElse(null);
                boolean assertion = t instanceof AssertionError;
                if (!isTest) {
                    // A container failure (beforeAll/afterAll, e.g. the servers did not start or stop).
                    errors.incrementAndGet();
                } else if (assertion) {
                    failures.incrementAndGet();
                } else {
                    errors.incrementAndGet();
                }
                String first = t == null ? "" : String.valueOf(t).lines().findFirst().orElse("");
                notPassed.add(name(id) + " " + (isTest ? "" : "(container) ") + "» " + first);
            }
        }
    }

    @Override
    public synchronized void testPlanExecutionFinished(TestPlan plan) {
        if (!enabled()) {
            return;
        }
        System.out.println();
        for (String s : notPassed) {
            System.out.println("NOT PASSED: " + s);
        }
        System.out.printf("Tests run: %d, Failures: %d, Errors: %d, Skipped: %d%n", run.get(), failures.get(),
                errors.get(), skipped.get());
        System.out.flush();
    }
}
