// The published contract, read from the JSON Schema files: one ajv validator per
// message type, and the CloudEvents envelope read from the AMQP application headers.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const PREFIX = "cloudEvents:";
const REQUIRED = ["id", "source", "type", "specversion"];
const OPTIONAL = ["time", "subject", "tenantid", "correlationid", "causationid", "traceparent", "taskid"];

export class ContractError extends Error {}

export function loadValidators(schemasDir) {
  // strict mode stays on (a typo in a schema is an error); these keywords are
  // annotations: pydantic's OpenAPI-style discriminator and tradebus's x- markers.
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  ajv.addVocabulary(["discriminator", "x-message-kind", "x-exchange"]);
  const validators = new Map();
  for (const file of readdirSync(schemasDir).filter((f) => f.endsWith(".json")).sort()) {
    const schema = JSON.parse(readFileSync(join(schemasDir, file), "utf8"));
    validators.set(schema.title, ajv.compile(schema));
  }
  if (validators.size === 0) throw new Error(`no schemas in ${schemasDir}`);
  return validators;
}

export function readEnvelope(headers) {
  const text = (v) => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v));
  const envelope = {};
  for (const name of REQUIRED) {
    const value = headers?.[PREFIX + name];
    if (value === undefined || value === null || value === "") {
      throw new ContractError(`missing required header ${PREFIX}${name}`);
    }
    envelope[name] = text(value);
  }
  if (envelope.specversion !== "1.0") {
    throw new ContractError(`unsupported CloudEvents specversion ${envelope.specversion}`);
  }
  for (const name of OPTIONAL) {
    const value = headers[PREFIX + name];
    if (value !== undefined && value !== null) envelope[name] = text(value);
  }
  return envelope;
}

// The payload of one message: {envelope, data} when valid, `null` for a type this
// subscriber has no schema for (newer than its copy of the contract); throws
// ContractError when the message breaks the contract.
export function decode(validators, headers, body) {
  const envelope = readEnvelope(headers);
  const validate = validators.get(envelope.type);
  if (validate === undefined) return null;
  let data;
  try {
    data = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new ContractError(`body is not JSON: ${error.message}`);
  }
  if (!validate(data)) {
    const where = validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
    throw new ContractError(`${envelope.type} payload invalid: ${where}`);
  }
  return { envelope, data };
}
