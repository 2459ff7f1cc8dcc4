import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { OpenApiDocument } from '../src/openapi';

/**
 * Validates real responses against the generated OpenAPI document: the response schema of
 * (method, path template, status) must exist and accept the body.
 */
export function openApiValidator(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(document, 'openapi');
  const pointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
  return (method: string, path: string, status: number, body: unknown, contentType = 'application/json'): void => {
    const operation = (document.paths?.[path] as Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }> | undefined)?.[method.toLowerCase()];
    if (!operation) throw new Error(`OpenAPI has no ${method} ${path}`);
    const response = operation.responses?.[String(status)];
    if (!response) throw new Error(`OpenAPI ${method} ${path} documents no ${status} response`);
    if (!response.content?.[contentType]) throw new Error(`OpenAPI ${method} ${path} ${status} has no ${contentType} content`);
    const ref = `openapi#/paths/${pointer(path)}/${method.toLowerCase()}/responses/${status}/content/${pointer(contentType)}/schema`;
    const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
    if (!validate(body)) {
      throw new Error(`${method} ${path} ${status} does not match its OpenAPI schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
    }
  };
}
