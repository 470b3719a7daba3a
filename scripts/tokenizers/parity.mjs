// Reference side of the tokenizer parity test and benchmark: Hugging Face's pure-JavaScript
// tokenizers (@huggingface/tokenizers) on a tokenizer.json (+ tokenizer_config.json beside it).
//
//   node parity.mjs <node_modules dir> <tokenizer.json> encode < texts.json
//       stdin: a JSON array of strings; stdout: one JSON object
//       {"results": [{"ids": [...], "ids_plain": [...], "decoded": "...", "decoded_skip": "..."}, ...]}
//       ids = encode(text) (special tokens added as by default), ids_plain = without them,
//       decoded = decode(ids), decoded_skip = decode(ids, {skip_special_tokens: true}).
//   node parity.mjs <node_modules dir> <tokenizer.json> bench <text file> <repeats>
//       stdout: {"tokens": n, "seconds": best time of one encode, "load_seconds": s}
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, tokenizerJson, mode, ...rest] = process.argv.slice(2);
if (!modules || !tokenizerJson || !mode) {
  console.error("usage: parity.mjs <node_modules dir> <tokenizer.json> encode|bench ...");
  process.exit(2);
}
const entry = join(modules, "@huggingface", "tokenizers", "dist", "tokenizers.mjs");
const { Tokenizer } = await import(pathToFileURL(entry).href);

const t0 = process.hrtime.bigint();
const json = JSON.parse(readFileSync(tokenizerJson, "utf8"));
const configPath = join(dirname(tokenizerJson), "tokenizer_config.json");
const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, "utf8")) : {};
const tokenizer = new Tokenizer(json, config);
const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

if (mode === "encode") {
  const texts = JSON.parse(readFileSync(0, "utf8"));
  // decode() refuses an empty array; an empty id list decodes to "".
  const decode = (ids, skip) =>
    ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
  const results = texts.map((text) => {
    const ids = tokenizer.encode(text).ids;
    const plain = tokenizer.encode(text, { add_special_tokens: false }).ids;
    return {
      ids,
      ids_plain: plain,
      decoded: decode(ids, false),
      decoded_skip: decode(ids, true),
    };
  });
  process.stdout.write(JSON.stringify({ results }) + "\n");
} else if (mode === "bench") {
  const text = readFileSync(rest[0], "utf8");
  const repeats = Number(rest[1] ?? 3);
  let best = Infinity;
  let tokens = 0;
  for (let r = 0; r < repeats; r++) {
    const s = process.hrtime.bigint();
    tokens = tokenizer.encode(text, { add_special_tokens: false }).ids.length;
    best = Math.min(best, Number(process.hrtime.bigint() - s) / 1e9);
  }
  process.stdout.write(JSON.stringify({ tokens, seconds: best, load_seconds: loadSeconds }) + "\n");
} else {
  console.error("unknown mode " + mode);
  process.exit(2);
}
