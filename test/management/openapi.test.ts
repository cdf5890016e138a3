import assert from "node:assert/strict";
import { describe, test } from "node:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { MANAGEMENT_ROUTES } from "../../src/management/management-routes.ts";
import { openApiPath } from "../../src/management/route-path.ts";

import { OPENAPI_SPEC as SPEC } from "./openapi-conformance.ts";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

describe("docs/api/openapi.yaml", () => {
  test("is a valid OpenAPI 3.1 document", async () => {
    const api = (await SwaggerParser.validate(SPEC)) as { openapi: string };
    assert.equal(api.openapi, "3.1.0");
  });

  test("has exactly the routes of the server's table", async () => {
    const api = (await SwaggerParser.parse(SPEC)) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(api.paths)
      .flatMap(([path, item]) =>
        Object.keys(item)
          .filter((key) => METHODS.includes(key))
          .map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();
    const served = MANAGEMENT_ROUTES.map(({ method, path }) => `${method} ${openApiPath(path)}`).sort();
    assert.deepEqual(documented, served);
  });
});
