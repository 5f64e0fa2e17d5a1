package io.moestreams.schemas;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test support: the real schema registry behind an authenticating front, as a registry with authentication enabled
 * answers: a request whose {@code Authorization} header is not exactly the expected one gets 401 with a Confluent
 * error body; the others are forwarded unchanged.
 */
final class AuthenticatingRegistry implements AutoCloseable {

    private final HttpServer server;
    private final HttpClient http = HttpClient.newHttpClient();
    final AtomicInteger refused = new AtomicInteger();

    AuthenticatingRegistry(String target, String expectedAuthorization) throws IOException {
        URI base = URI.create(target.endsWith("/") ? target : target + "/");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            try (exchange) {
                byte[] body;
                try (InputStream in = exchange.getRequestBody()) {
                    body = in.readAllBytes();
                }
                if (!expectedAuthorization.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                    refused.incrementAndGet();
                    byte[] error = "{\"error_code\":401,\"message\":\"Unauthorized\"}".getBytes();
                    exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"registry\"");
                    exchange.sendResponseHeaders(401, error.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(error);
                    }
                    return;
                }
                String path = exchange.getRequestURI().toString();
                URI uri = base.resolve(path.startsWith("/") ? path.substring(1) : path);
                HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                        .method(
                                exchange.getRequestMethod(),
                                body.length == 0
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofByteArray(body));
                String type = exchange.getRequestHeaders().getFirst("Content-Type");
                if (type != null) {
                    b.header("Content-Type", type);
                }
                HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
                exchange.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
                if (r.body().length > 0) {
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(r.body());
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        server.start();
    }

    /** The front's base URL, standing for the registry's {@code /apis/ccompat/v7} root. */
    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
