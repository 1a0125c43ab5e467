package example;

import com.standardwebhooks.Webhook;
import com.standardwebhooks.exceptions.WebhookVerificationException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Receives Koppel's webhooks: checks the signature over the raw body, answers 401 when it does
 * not match (or the timestamp is more than five minutes off), and handles each webhook-id once.
 * WEBHOOK_SECRET is the consultant's {@code whsec_...} secret.
 */
public final class WebhookReceiver {
    // Keep these in your database in production.
    private static final Set<String> SEEN = ConcurrentHashMap.newKeySet();

    public static void main(String[] args) throws Exception {
        Webhook webhook = new Webhook(System.getenv("WEBHOOK_SECRET"));
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8000"));
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", exchange -> receive(webhook, exchange));
        server.start();
        System.out.println("listening on " + port);
    }

    private static void receive(Webhook webhook, HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!"POST".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            // Verify the bytes as received: re-serialised JSON would not match the signature.
            String body;
            try (InputStream in = exchange.getRequestBody()) {
                body = new String(in.readNBytes(1 << 20), StandardCharsets.UTF_8);
            }
            try {
                webhook.verify(body, exchange.getRequestHeaders());
            } catch (WebhookVerificationException e) {
                exchange.sendResponseHeaders(401, -1);
                return;
            }
            String id = exchange.getRequestHeaders().getFirst("webhook-id");
            if (SEEN.add(id)) {
                handle(id, body);
            }
            exchange.sendResponseHeaders(204, -1);
        }
    }

    private static void handle(String id, String event) {
        // Parse `event` with your JSON library: type, data.match_id, ...
        System.out.println("new webhook " + id + ": " + event.length() + " bytes of JSON");
    }
}
