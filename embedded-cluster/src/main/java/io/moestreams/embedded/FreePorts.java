package io.moestreams.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Hands out free TCP ports on 127.0.0.1. A port is never handed out twice by one JVM, so two embedded
 * servers started in parallel cannot pick the same one; another process may still take a port between
 * the probe and the bind, which the callers handle by retrying with fresh ports.
 */
final class FreePorts {

    private static final int MAX_PROBES = 200;
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private FreePorts() {}

    /** Returns {@code count} distinct ports that were free on 127.0.0.1 a moment ago. */
    static int[] allocate(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("port count must be >= 1, was " + count);
        }
        List<ServerSocket> open = new ArrayList<>();
        int[] ports = new int[count];
        try {
            int found = 0;
            for (int probe = 0; probe < MAX_PROBES && found < count; probe++) {
                ServerSocket socket = new ServerSocket();
                open.add(socket); // kept open until all are found, so the probes return distinct ports
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                int port = socket.getLocalPort();
                if (HANDED_OUT.add(port)) {
                    ports[found++] = port;
                }
            }
            if (found < count) {
                throw new IllegalStateException(
                        "could not find " + count + " unused ports on 127.0.0.1 in " + MAX_PROBES + " probes");
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException("probing for a free port on 127.0.0.1 failed", e);
        } finally {
            for (ServerSocket socket : open) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // a probe socket that fails to close holds nothing we need
                }
            }
        }
    }
}
