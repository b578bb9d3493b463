/** trompe's version, from deno.json, for run records and written files. */
import denoJson from "../deno.json" with { type: "json" };

export const TROMPE_VERSION: string = denoJson.version;
