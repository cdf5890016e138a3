import assert from "node:assert/strict";
import SwaggerParser from "@apidevtools/swagger-parser";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { MANAGEMENT_ROUTES } from "../../src/management/management-routes.ts";
import { matchRoutePath, openApiPath } from "../../src/management/route-path.ts";
import type { ApiAnswer, ManagedNode } from "../helpers/management-node.ts";

/** docs/api/openapi.yaml, the document the API is checked against. */
export const OPENAPI_SPEC = new URL("../../docs/api/openapi.yaml", import.meta.url).pathname;

interface Operation {
  readonly responses: Record<string, { content?: Record<string, { schema: object }> }>;
}

let operations: Promise<Record<string, Record<string, Operation>>> | undefined;
const ajv = new Ajv2020({ strict: false, validateFormats: false });
const compiled = new Map<object, ValidateFunction>();

/** Asserts that `answer` to `method path` is what docs/api/openapi.yaml documents for its status. */
export async function assertDocumented(method: string, path: string, answer: ApiAnswer): Promise<void> {
  // A HEAD answer is a GET's without its body.
  if (method === "HEAD") return;
  operations ??= SwaggerParser.dereference(OPENAPI_SPEC).then(
    (api) => (api as unknown as { paths: Record<string, Record<string, Operation>> }).paths,
  );
  const bare = path.split("?", 1)[0]!;
  const route = MANAGEMENT_ROUTES.find(
    (candidate) => candidate.method === method && matchRoutePath(candidate.path, bare) !== undefined,
  );
  // Unknown routes and methods answer the documented error shape.
  const operation =
    route === undefined ? undefined : (await operations)[openApiPath(route.path)]?.[method.toLowerCase()];
  const responses = operation?.responses ?? (await operations)["/node"]!.get!.responses;
  const response = responses[String(answer.status)] ?? responses.default!;
  const schema = response.content?.["application/json"]?.schema;
  if (schema === undefined) {
    assert.equal(answer.body, undefined, `${method} ${path}: ${answer.status} is documented without a body`);
    return;
  }
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  assert.ok(
    validate(answer.body),
    `${method} ${path} answered ${answer.status} ${JSON.stringify(answer.body)}, not as documented: ${ajv.errorsText(validate.errors)}`,
  );
}

/** `node`, with every answer of `api` checked against docs/api/openapi.yaml. */
export function documented(node: ManagedNode): ManagedNode {
  return {
    ...node,
    async api(method, path, options) {
      const answer = await node.api(method, path, options);
      await assertDocumented(method, path, answer);
      return answer;
    },
  };
}
