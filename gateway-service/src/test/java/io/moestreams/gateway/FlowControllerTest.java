package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FlowControllerTest {

    private static final long CREDIT = 10;
    private static final long NOW = 1_000_000;

    /** Records every pause/resume call in order. */
    private static final class RecordingIntake implements FlowController.Intake {
        final List<String> calls = new ArrayList<>();

        @Override
        public void pause() {
            calls.add("pause");
        }

        @Override
        public void resume() {
            calls.add("resume");
        }
    }

    private InFlightLedger ledger;
    private RecordingIntake intake;
    private SimpleMeterRegistry meters;
    private FlowController flow;

    @BeforeEach
    void setUp() {
        ledger = new InFlightLedger(3, 5_000);
        intake = new RecordingIntake();
        meters = new SimpleMeterRegistry();
        flow = new FlowController(ledger, CREDIT, intake, meters);
    }

    private double throttledGauge() {
        return meters.get("moe.gateway.throttled").gauge().value();
    }

    private double throttleEvents(int expert) {
        return meters.get("moe.gateway.throttle.events")
                .tag("expert", Integer.toString(expert))
                .counter()
                .count();
    }

    private double inFlightGauge(int expert) {
        return meters.get("moe.gateway.inflight.tokens")
                .tag("expert", Integer.toString(expert))
                .gauge()
                .value();
    }

    @Test
    void staysOpenWhileEveryExpertIsAtOrBelowItsCredit() {
        // Given every expert exactly at its credit
        ledger.dispatched("a", new int[] {10, 10, 10}, NOW + 60_000);

        // When the controller steps
        boolean throttling = flow.step(NOW);

        // Then the intake is not touched and nothing is counted
        assertFalse(throttling);
        assertFalse(flow.throttling());
        assertEquals(List.of(), intake.calls);
        assertEquals(0.0, throttledGauge());
        assertEquals(0.0, throttleEvents(0) + throttleEvents(1) + throttleEvents(2));
    }

    @Test
    void pausesOnceWhenAnExpertExceedsItsCredit() {
        // Given expert 1 one token over its credit
        ledger.dispatched("a", new int[] {3, 11, 0}, NOW + 60_000);

        // When the controller steps several times
        boolean first = flow.step(NOW);
        boolean second = flow.step(NOW + 20);
        boolean third = flow.step(NOW + 40);

        // Then the intake was paused exactly once, the gauge shows it and expert 1 is blamed once
        assertTrue(first && second && third);
        assertEquals(List.of("pause"), intake.calls);
        assertEquals(1.0, throttledGauge());
        assertEquals(0.0, throttleEvents(0));
        assertEquals(1.0, throttleEvents(1));
        assertEquals(0.0, throttleEvents(2));
    }

    @Test
    void resumesOnlyWhenEveryExpertIsBackUnderItsCredit() {
        // Given two experts over their credit, each because of a different request, and a paused intake
        ledger.dispatched("hot0", new int[] {12, 0, 0}, NOW + 60_000);
        ledger.dispatched("hot2", new int[] {0, 0, 15}, NOW + 60_000);
        flow.step(NOW);

        // When only one of them is settled
        ledger.settled("hot0");
        boolean stillThrottling = flow.step(NOW + 20);

        // Then the intake stays paused
        assertTrue(stillThrottling);
        assertEquals(List.of("pause"), intake.calls);

        // When the other one is settled too
        ledger.settled("hot2");
        boolean throttling = flow.step(NOW + 40);

        // Then the intake resumes exactly once, the gauge drops to 0 and only the first transition was counted
        assertFalse(throttling);
        flow.step(NOW + 60);
        assertEquals(List.of("pause", "resume"), intake.calls);
        assertEquals(0.0, throttledGauge());
        assertEquals(1.0, throttleEvents(0));
        assertEquals(0.0, throttleEvents(2));
    }

    @Test
    void everyTransitionCallsTheIntakeOnceAndIsCounted() {
        // Given an expert that goes over its credit, back under, and over again
        ledger.dispatched("a", new int[] {0, 0, 11}, NOW + 60_000);
        flow.step(NOW);
        flow.step(NOW + 1);
        ledger.settled("a");
        flow.step(NOW + 2);
        flow.step(NOW + 3);
        ledger.dispatched("b", new int[] {0, 0, 20}, NOW + 60_000);

        // When the controller steps again (twice)
        flow.step(NOW + 4);
        flow.step(NOW + 5);

        // Then there were exactly two pauses and one resume, and two throttle events for expert 2
        assertEquals(List.of("pause", "resume", "pause"), intake.calls);
        assertEquals(2.0, throttleEvents(2));
        assertEquals(1.0, throttledGauge());
    }

    @Test
    void expiredEntriesReleaseTheirCreditOnTheNextStep() {
        // Given a paused intake because of a request whose combiner answered elsewhere (never settled here)
        ledger.dispatched("elsewhere", new int[] {50, 0, 0}, NOW + 1_000);
        flow.step(NOW);

        // When the controller steps after the request's deadline plus grace
        boolean throttling = flow.step(NOW + 1_000 + 5_000);

        // Then the entry expired and the intake resumed
        assertFalse(throttling);
        assertEquals(0, ledger.pendingRequests());
        assertEquals(List.of("pause", "resume"), intake.calls);
    }

    @Test
    void inFlightGaugesFollowTheLedgerPerExpert() {
        // Given dispatched and partly settled requests
        ledger.dispatched("a", new int[] {1, 2, 3}, NOW + 60_000);
        ledger.dispatched("b", new int[] {4, 0, 6}, NOW + 60_000);
        ledger.settled("a");

        // When the gauges are read
        // Then each shows its expert's in-flight tokens
        assertEquals(4.0, inFlightGauge(0));
        assertEquals(0.0, inFlightGauge(1));
        assertEquals(6.0, inFlightGauge(2));
    }

    @Test
    void aDispatchCrossingTheCreditPausesAtOnceWithoutWaitingForAStep() {
        // Given a controller that has not stepped yet
        assertEquals(List.of(), intake.calls);

        // When a dispatch puts expert 2 over its credit
        ledger.dispatched("hot", new int[] {0, 0, 11}, NOW + 60_000);

        // Then the intake is already paused, on the dispatching thread, before any periodic step
        assertEquals(List.of("pause"), intake.calls);
        assertEquals(1.0, throttleEvents(2));
    }
}
