/**
 * Run by tests/shared.test.ts (not a test file itself): one test on ../shared's reference and formats and
 * one on ../shared/data, so the skip/fail rules of tests/shared.ts can be watched from outside.
 */
import { sharedDataTest, sharedTest } from "../shared.ts";

sharedTest("probe: reads reference and formats", () => {});
sharedDataTest("probe: reads data", () => {});
