/** trompe's version, from deno.json, for run records and written files. */
import denoJson from "../deno.json" with { type: "json" };

/** trompe's version (deno.json's), recorded in every run record. */
export const TROMPE_VERSION: string = denoJson.version;
