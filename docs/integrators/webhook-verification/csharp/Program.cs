// Receives Koppel's webhooks: checks the signature over the raw body, answers 401 when it
// does not match (or the timestamp is more than five minutes off), and handles each
// webhook-id once. WEBHOOK_SECRET is the consultant's `whsec_...` secret.
using System.Collections.Concurrent;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

var webhook = new StandardWebhook(Environment.GetEnvironmentVariable("WEBHOOK_SECRET")!);
var seen = new ConcurrentDictionary<string, bool>(); // keep these in your database in production

var app = WebApplication.Create(args);

app.MapPost("/{**path}", async (HttpRequest request) =>
{
    // Verify the bytes as received: re-serialised JSON would not match the signature.
    using var reader = new StreamReader(request.Body);
    var body = await reader.ReadToEndAsync();
    try
    {
        webhook.Verify(body, request.Headers);
    }
    catch (WebhookVerificationException)
    {
        return Results.Unauthorized();
    }
    var id = request.Headers["webhook-id"].ToString();
    if (seen.TryAdd(id, true))
    {
        Console.WriteLine($"new webhook {id}: {body.Length} characters of JSON");
    }
    return Results.NoContent();
});

var port = Environment.GetEnvironmentVariable("PORT") ?? "8000";
app.Run($"http://127.0.0.1:{port}");
