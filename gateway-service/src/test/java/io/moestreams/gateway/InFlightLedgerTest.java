package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

class InFlightLedgerTest {

    private static final long GRACE_MS = 5_000;

    private static long[] inFlight(InFlightLedger ledger) {
        long[] v = new long[ledger.numExperts()];
        for (int e = 0; e < v.length; e++) {
            v[e] = ledger.inFlight(e);
        }
        return v;
    }

    @Test
    void dispatchedAddsTokensPerExpertAcrossRequests() {
        // Given an empty ledger for 3 experts
        InFlightLedger ledger = new InFlightLedger(3, GRACE_MS);

        // When two requests are dispatched
        ledger.dispatched("a", new int[] {2, 0, 5}, 1_000);
        ledger.dispatched("b", new int[] {1, 4, 0}, 1_000);

        // Then each expert counts the sum of its tokens and both requests are pending
        assertEquals(3, ledger.inFlight(0));
        assertEquals(4, ledger.inFlight(1));
        assertEquals(5, ledger.inFlight(2));
        assertEquals(2, ledger.pendingRequests());
    }

    @Test
    void settledSubtractsTheRequestsTokensAndForgetsIt() {
        // Given two dispatched requests
        InFlightLedger ledger = new InFlightLedger(2, GRACE_MS);
        ledger.dispatched("a", new int[] {3, 1}, 1_000);
        ledger.dispatched("b", new int[] {2, 2}, 1_000);

        // When one is settled
        ledger.settled("a");

        // Then only the other one's tokens remain
        assertEquals(2, ledger.inFlight(0));
        assertEquals(2, ledger.inFlight(1));
        assertEquals(1, ledger.pendingRequests());

        // And settling it again changes nothing
        ledger.settled("a");
        assertEquals(2, ledger.inFlight(0));
        assertEquals(1, ledger.pendingRequests());
    }

    @Test
    void redispatchingTheSameIdReplacesItsEntryInsteadOfCountingTwice() {
        // Given a dispatched request
        InFlightLedger ledger = new InFlightLedger(3, GRACE_MS);
        ledger.dispatched("a", new int[] {4, 4, 0}, 1_000);

        // When the same id is dispatched again (a retried record) with a different routing
        ledger.dispatched("a", new int[] {1, 0, 2}, 2_000);

        // Then only the latest routing counts, once
        assertEquals(1, ledger.inFlight(0));
        assertEquals(0, ledger.inFlight(1));
        assertEquals(2, ledger.inFlight(2));
        assertEquals(1, ledger.pendingRequests());

        // And one settle brings every expert back to zero
        ledger.settled("a");
        assertEquals(0, ledger.inFlight(0));
        assertEquals(0, ledger.inFlight(1));
        assertEquals(0, ledger.inFlight(2));
        assertEquals(0, ledger.pendingRequests());
    }

    @Test
    void ledgerKeepsItsOwnCopyOfTheCounts() {
        // Given a request dispatched from an array the caller later reuses
        InFlightLedger ledger = new InFlightLedger(2, GRACE_MS);
        int[] counts = {3, 3};
        ledger.dispatched("a", counts, 1_000);

        // When the caller overwrites its array and the request is settled
        counts[0] = 100;
        ledger.settled("a");

        // Then the ledger subtracts what it added
        assertEquals(0, ledger.inFlight(0));
        assertEquals(0, ledger.inFlight(1));
    }

    @Test
    void settlingAnUnknownIdIsIgnored() {
        // Given a ledger with one request
        InFlightLedger ledger = new InFlightLedger(2, GRACE_MS);
        ledger.dispatched("a", new int[] {1, 1}, 1_000);

        // When an id it never saw is settled (answered by another gateway instance)
        ledger.settled("never-seen");

        // Then nothing changes
        assertEquals(1, ledger.inFlight(0));
        assertEquals(1, ledger.pendingRequests());
    }

    @Test
    void entriesExpireAtTheirDeadlinePlusGraceAndNotBefore() {
        // Given two requests with different deadlines
        InFlightLedger ledger = new InFlightLedger(2, GRACE_MS);
        ledger.dispatched("early", new int[] {2, 0}, 10_000);
        ledger.dispatched("late", new int[] {0, 3}, 20_000);

        // When time reaches just before the early one's deadline + grace
        int none = ledger.expire(10_000 + GRACE_MS - 1);

        // Then nothing expires
        assertEquals(0, none);
        assertEquals(2, ledger.pendingRequests());

        // When time reaches exactly deadline + grace of the early one
        int one = ledger.expire(10_000 + GRACE_MS);

        // Then only that one expires and its tokens are released
        assertEquals(1, one);
        assertEquals(0, ledger.inFlight(0));
        assertEquals(3, ledger.inFlight(1));
        assertEquals(1, ledger.pendingRequests());

        // And settling the expired id later does not subtract twice
        ledger.settled("early");
        assertEquals(0, ledger.inFlight(0));
        assertEquals(3, ledger.inFlight(1));
    }

    @Test
    void countsOfTheWrongLengthAreRejectedNamingTheExpectedLength() {
        // Given a ledger for 4 experts
        InFlightLedger ledger = new InFlightLedger(4, GRACE_MS);

        // When counts for 3 experts are recorded
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ledger.dispatched("a", new int[] {1, 2, 3}, 0));

        // Then the message says how many were expected, and nothing was recorded
        assertTrue(e.getMessage().contains("4"), e.getMessage());
        assertEquals(0, ledger.pendingRequests());
        assertEquals(0, inFlight(ledger)[0]);
    }

    @Test
    void peakRemembersTheHighestInFlightCountAfterSettling() {
        // Given two requests in flight for expert 0, one of them settled
        InFlightLedger ledger = new InFlightLedger(2, 1_000);
        ledger.dispatched("a", new int[] {5, 0}, 10_000);
        ledger.dispatched("b", new int[] {7, 1}, 10_000);
        ledger.settled("a");

        // Then the current count dropped but the peak is the sum they reached together
        Assertions.assertEquals(7, ledger.inFlight(0));
        Assertions.assertEquals(12, ledger.peakInFlight(0));
        Assertions.assertEquals(1, ledger.peakInFlight(1));
    }
}
