// A downstream team's subscriber to tradebus events, in Node.js with amqplib.
//
// It owns what it declares: a durable quorum queue bound to `tradebus.events` by
// routing-key pattern, its own dead-letter exchange and DLQ. Every payload is validated
// with ajv against the published JSON Schemas; one that fails is rejected (nack without
// requeue) and the broker moves it to the DLQ. Validated events are printed to stdout,
// one JSON line each (stand-in for the team's own store); logs go to stderr.
//
//   AMQP_URL=amqp://guest:guest@127.0.0.1:5672/ QUEUE=billing.tradebus-events \
//   PATTERNS='omnirag.document.#,task.status.#' node subscriber.mjs
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import amqp from "amqplib";
import { ContractError, decode, loadValidators } from "./contract.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const config = {
  url: process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672/",
  queue: process.env.QUEUE ?? "billing.tradebus-events",
  // AMQP topic patterns: `*` is exactly one word, `#` zero or more.
  patterns: (process.env.PATTERNS ?? "#").split(",").map((p) => p.trim()).filter(Boolean),
  schemas: process.env.SCHEMAS_DIR ?? join(here, "..", "..", "contracts", "schemas"),
  deliveryLimit: Number(process.env.DELIVERY_LIMIT ?? 5),
  prefetch: Number(process.env.PREFETCH ?? 32),
};

const log = (msg, fields = {}) =>
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }) + "\n");

async function declare(channel) {
  // Declared by tradebus: check it exists, never create or change it.
  await channel.checkExchange("tradebus.events");
  const dlx = `${config.queue}.dlx`;
  const dlq = `${config.queue}.dlq`;
  await channel.assertExchange(dlx, "direct", { durable: true });
  await channel.assertQueue(dlq, { durable: true, arguments: { "x-queue-type": "quorum" } });
  await channel.bindQueue(dlq, dlx, config.queue);
  await channel.assertQueue(config.queue, {
    durable: true,
    arguments: {
      "x-queue-type": "quorum",
      "x-dead-letter-exchange": dlx,
      "x-dead-letter-routing-key": config.queue,
      // Redeliveries (the consumer died mid-message) before the broker dead-letters it.
      "x-delivery-limit": config.deliveryLimit,
      "x-dead-letter-strategy": "at-least-once",
      "x-overflow": "reject-publish",
    },
  });
  for (const pattern of config.patterns) {
    await channel.bindQueue(config.queue, "tradebus.events", pattern);
  }
}

function handle(channel, validators, msg) {
  let decoded;
  try {
    decoded = decode(validators, msg.properties.headers, msg.content);
  } catch (error) {
    if (!(error instanceof ContractError)) throw error;
    log("rejected to the dead-letter queue", {
      reason: error.message,
      routingKey: msg.fields.routingKey,
      messageId: msg.properties.messageId,
    });
    channel.nack(msg, false, false);
    return;
  }
  if (decoded === null) {
    // A type the schemas on hand do not know (new types are additive): take it off.
    log("skipped unknown type", { routingKey: msg.fields.routingKey });
    channel.ack(msg);
    return;
  }
  const { envelope, data } = decoded;
  process.stdout.write(JSON.stringify({ ...envelope, data }) + "\n");
  channel.ack(msg);
}

async function main() {
  const validators = loadValidators(config.schemas);
  const connection = await amqp.connect(config.url);
  const channel = await connection.createChannel();
  await declare(channel);
  await channel.prefetch(config.prefetch);
  const { consumerTag } = await channel.consume(config.queue, (msg) => {
    if (msg === null) {
      log("consumer cancelled by the broker");
      process.exit(1);
    }
    handle(channel, validators, msg);
  });
  log("consuming", { queue: config.queue, patterns: config.patterns, types: validators.size });
  const stop = async () => {
    await channel.cancel(consumerTag);
    await channel.close();
    await connection.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Exit on a lost connection: the process supervisor restarts the subscriber.
  connection.on("close", () => {
    log("connection closed");
    process.exit(1);
  });
}

main().catch((error) => {
  log("failed", { error: String(error?.stack ?? error) });
  process.exit(1);
});
