package io.moestreams.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Credit-based backpressure: while any expert has more in-flight tokens than its credit, the intake is paused
 * (Kafka Streams {@code pause()}: its consumers stop fetching, so the backlog stays in Kafka and memory stays
 * flat); it resumes once every expert is back under its credit. Nothing is dropped for flow reasons.
 *
 * <p>What counts against the credit is an {@link InFlightView}: this process's exact ledger, or the cluster-wide
 * estimate of {@link ClusterInFlight} when several gateway instances share the credit.
 *
 * <p>Visible as the gauge {@code moe.gateway.throttled} (1 while paused), {@code moe.gateway.inflight.tokens}
 * per expert (this process's ledger), the counter {@code moe.gateway.throttle.events} per expert, and one INFO line
 * per transition.
 */
public final class FlowController implements AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(FlowController.class);

    /** What the controller pauses and resumes. */
    public interface Intake {
        void pause();

        void resume();
    }

    private final InFlightLedger ledger;
    private final InFlightView view;
    private final long creditTokens;
    private final Intake intake;
    private final Thread thread;
    private final AtomicInteger throttled = new AtomicInteger();
    private final Counter[] throttleEvents;
    private volatile boolean running = true;
    private long pausedAtNanos;
    private long pausedNanos;

    /** Flow control on this process's ledger alone (exact for one gateway process). */
    public FlowController(InFlightLedger ledger, long creditTokens, Intake intake, MeterRegistry meters) {
        this(ledger, ledger, creditTokens, intake, meters);
    }

    /**
     * @param ledger the local ledger (expired here, exported as {@code moe.gateway.inflight.tokens})
     * @param view   what counts against the credit
     */
    public FlowController(
            InFlightLedger ledger, InFlightView view, long creditTokens, Intake intake, MeterRegistry meters) {
        this.ledger = ledger;
        this.view = view;
        this.creditTokens = creditTokens;
        this.intake = intake;
        this.throttleEvents = new Counter[ledger.numExperts()];
        Gauge.builder("moe.gateway.throttled", throttled, AtomicInteger::get)
                .description("1 while intake is paused because an expert exceeded its in-flight credit")
                .register(meters);
        for (int e = 0; e < ledger.numExperts(); e++) {
            final int expert = e;
            Gauge.builder("moe.gateway.inflight.tokens", ledger, l -> l.inFlight(expert))
                    .tag("expert", Integer.toString(e))
                    .description("tokens dispatched to the expert and not yet combined")
                    .register(meters);
            throttleEvents[e] = Counter.builder("moe.gateway.throttle.events")
                    .tag("expert", Integer.toString(e))
                    .description("times this expert's in-flight tokens paused the intake")
                    .register(meters);
        }
        this.thread = new Thread(this::loop, "moe-gateway-flow-control");
        this.thread.setDaemon(true);
        // Pause as soon as a dispatch crosses the credit, not only at the next periodic check: the overshoot is
        // then at most the records Streams processes before the pause takes effect.
        ledger.onDispatch(this::evaluate);
    }

    public void start() {
        thread.start();
    }

    /** One control step; public for tests. Returns true while throttling. */
    public synchronized boolean step(long nowMs) {
        ledger.expire(nowMs);
        return evaluate();
    }

    /** Pauses or resumes the intake according to the current in-flight tokens. Returns true while throttling. */
    synchronized boolean evaluate() {
        int hot = -1;
        for (int e = 0; e < view.numExperts(); e++) {
            if (view.inFlight(e) > creditTokens) {
                hot = e;
                break;
            }
        }
        if (hot >= 0 && throttled.get() == 0) {
            throttled.set(1);
            pausedAtNanos = System.nanoTime();
            throttleEvents[hot].increment();
            LOGGER.info(
                    "Expert {} is throttling intake: {} in-flight tokens > credit {}; pausing the gateway",
                    hot,
                    view.inFlight(hot),
                    creditTokens);
            intake.pause();
        } else if (hot < 0 && throttled.get() == 1) {
            throttled.set(0);
            pausedNanos += System.nanoTime() - pausedAtNanos;
            LOGGER.info(
                    "All experts are back under their in-flight credit of {} tokens; resuming the gateway",
                    creditTokens);
            intake.resume();
        }
        return throttled.get() == 1;
    }

    public boolean throttling() {
        return throttled.get() == 1;
    }

    /** Total time the intake has been paused since start, the current pause included. */
    public synchronized long throttledNanos() {
        return pausedNanos + (throttled.get() == 1 ? System.nanoTime() - pausedAtNanos : 0);
    }

    private void loop() {
        while (running) {
            try {
                step(System.currentTimeMillis());
                synchronized (this) {
                    wait(20);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                LOGGER.warn("Flow control step failed: {}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
