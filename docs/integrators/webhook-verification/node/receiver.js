// Receives Koppel's webhooks: checks the signature over the raw body, answers 401 when it
// does not match (or the timestamp is more than five minutes off), and handles each
// webhook-id once. WEBHOOK_SECRET is the consultant's `whsec_...` secret.
const http = require("node:http");
const { Webhook } = require("standardwebhooks");

const webhook = new Webhook(process.env.WEBHOOK_SECRET);
const seen = new Set(); // keep these in your database in production

function handle(id, event) {
  console.log(`new webhook ${id}: ${event.type} for match ${event.data.match_id}`);
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST") {
    res.writeHead(405).end();
    return;
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    // Verify the bytes as received: re-serialised JSON would not match the signature.
    const body = Buffer.concat(chunks);
    let event;
    try {
      event = webhook.verify(body, req.headers);
    } catch (err) {
      res.writeHead(401).end();
      return;
    }
    const id = req.headers["webhook-id"];
    if (!seen.has(id)) {
      seen.add(id);
      handle(id, event);
    }
    res.writeHead(204).end();
  });
});

const port = Number(process.env.PORT || 8000);
server.listen(port, "127.0.0.1", () => console.log(`listening on ${port}`));
