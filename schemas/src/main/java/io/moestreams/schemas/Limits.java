package io.moestreams.schemas;

/** Size limits every component agrees on, in one place. */
public final class Limits {

    /**
     * The largest record the platform writes or its topics accept (a request, a response, or a block of one long
     * sequence): 64 MiB. The topics are created with this {@code max.message.bytes}; producers use it as
     * {@code max.request.size}. A request record is further bounded by {@code moe.gateway.max-request-bytes}.
     */
    public static final int MAX_RECORD_BYTES = 64 * 1024 * 1024;

    private Limits() {}
}
