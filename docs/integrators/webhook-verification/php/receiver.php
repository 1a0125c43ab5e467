<?php
// Receives Koppel's webhooks: checks the signature over the raw body, answers 401 when it
// does not match (or the timestamp is more than five minutes off), and handles each
// webhook-id once. WEBHOOK_SECRET is the consultant's `whsec_...` secret.
// Run with `WEBHOOK_SECRET=whsec_... php -S 127.0.0.1:8000 receiver.php`.

require __DIR__ . '/vendor/autoload.php';

use StandardWebhooks\Exception\WebhookVerificationException;
use StandardWebhooks\Webhook;

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    http_response_code(405);
    exit;
}

// Verify the bytes as received: re-serialised JSON would not match the signature.
$body = file_get_contents('php://input');
// The library looks the headers up by their lower-case names.
$headers = array_change_key_case(getallheaders(), CASE_LOWER);

try {
    $event = (new Webhook(getenv('WEBHOOK_SECRET')))->verify($body, $headers);
} catch (WebhookVerificationException $e) {
    http_response_code(401);
    exit;
}

if (first_time($headers['webhook-id'])) {
    error_log("new webhook {$headers['webhook-id']}: {$event['type']} for match {$event['data']['match_id']}");
}
http_response_code(204);

// Remembers webhook ids so a redelivery is handled once; use your database in production.
function first_time(string $webhookId): bool
{
    $seen = sys_get_temp_dir() . '/koppel-webhooks-' . hash('sha256', $webhookId);
    return @fopen($seen, 'x') !== false;
}
