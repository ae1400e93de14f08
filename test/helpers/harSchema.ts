/**
 * The HAR 1.2 schema check: the `har-schema` package's JSON schemas (the spec's fields, types
 * and required keys, as the HAR tools of the npm ecosystem check them) compiled with ajv.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import * as draft06 from 'ajv/dist/refs/json-schema-draft-06.json';
import { isIPv4, isIPv6 } from 'net';

/** A validator of a whole HAR document. */
export function harValidator(): ValidateFunction {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const schemas = require('har-schema') as Record<string, object>;
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addMetaSchema(draft06);
  // The formats the schemas use (`serverIPAddress` is oneOf ipv4/ipv6: unchecked formats would pass both, and fail oneOf).
  ajv.addFormat('ipv4', (text: string) => isIPv4(text));
  ajv.addFormat('ipv6', (text: string) => isIPv6(text));
  // request.url: a URL WHATWG parsers (browsers) take.
  ajv.addFormat('uri', (text: string) => URL.canParse(text));
  ajv.addFormat('date-time', (text: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) && !Number.isNaN(Date.parse(text)));
  for (const schema of Object.values(schemas)) ajv.addSchema(schema);
  return ajv.getSchema('har.json#')!;
}
