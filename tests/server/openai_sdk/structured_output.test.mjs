// Structured output and tool calls through the official OpenAI Node SDK against a live
// `xyserve serve` of a random-weight model: nothing but the grammar's token masks keeps the
// output valid, and every JSON result is checked by an independent validator (ajv).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import OpenAI from 'openai';
import { client, rawPost, MODEL } from './helpers.mjs';

const ajv = new Ajv({ strict: false, allErrors: true });

const personSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    address: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 10 }, zip: { type: 'string', pattern: '^[0-9]{5}$' } },
      required: ['city', 'zip'],
      additionalProperties: false,
    },
    tags: { type: 'array', items: { enum: ['red', 'green', 'blue'] }, minItems: 1, maxItems: 3 },
    status: { enum: ['active', 'inactive', null] },
    scores: { type: 'array', items: { type: 'number' }, maxItems: 3 },
  },
  required: ['name', 'age', 'address', 'tags', 'status'],
  additionalProperties: false,
};

const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather in a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string', maxLength: 10 }, unit: { enum: ['celsius', 'fahrenheit'] } },
        required: ['city', 'unit'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'get_time',
      parameters: {
        type: 'object',
        properties: { tz: { type: 'string', maxLength: 8 }, offset: { type: 'integer', minimum: -12, maximum: 14 } },
        required: ['tz', 'offset'],
        additionalProperties: false,
      },
    },
  },
];
const paramsValidator = Object.fromEntries(tools.map((t) => [t.function.name, ajv.compile(t.function.parameters)]));

function checkToolCalls(message) {
  assert.ok(Array.isArray(message.tool_calls) && message.tool_calls.length >= 1, JSON.stringify(message));
  for (const call of message.tool_calls) {
    assert.equal(call.type, 'function');
    assert.match(call.id, /^call_/);
    const validate = paramsValidator[call.function.name];
    assert.ok(validate, `unknown function ${call.function.name}`);
    const args = JSON.parse(call.function.arguments);
    assert.ok(validate(args), `${JSON.stringify(validate.errors)} ${call.function.arguments}`);
  }
}

test('json_schema: 50 completions sampled at temperature 1.0 all parse and validate', async () => {
  const validate = ajv.compile(personSchema);
  const c = client();
  const runs = await Promise.all([0, 1, 2, 3, 4].map((i) => c.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: `Describe person number ${i}.` }],
    temperature: 1.0,
    seed: 100 + i,
    n: 10,
    max_tokens: 500,
    response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: personSchema } },
  })));
  let count = 0;
  for (const r of runs) {
    for (const choice of r.choices) {
      assert.equal(choice.finish_reason, 'stop', choice.message.content);
      const value = JSON.parse(choice.message.content);
      assert.ok(validate(value), `${JSON.stringify(validate.errors)} ${choice.message.content}`);
      count += 1;
    }
  }
  assert.equal(count, 50);
});

test('json_object: stopped outputs are JSON objects', async () => {
  const r = await client().chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'Any JSON' }],
    temperature: 1.0,
    seed: 7,
    n: 6,
    max_tokens: 400,
    response_format: { type: 'json_object' },
  });
  const stopped = r.choices.filter((c) => c.finish_reason === 'stop');
  assert.ok(stopped.length >= 1);
  for (const c of stopped) {
    const v = JSON.parse(c.message.content);
    assert.equal(typeof v, 'object');
    assert.ok(v !== null && !Array.isArray(v));
  }
});

test('guided_regex and guided_choice (vLLM fields) on both endpoints', async () => {
  const c = client();
  const re = '[A-Z][a-z]{2,5}-[0-9]{2,4}';
  const regex = await c.completions.create({
    model: MODEL, prompt: 'Code:', max_tokens: 40, temperature: 1.0, seed: 3, n: 5, guided_regex: re,
  });
  for (const choice of regex.choices) {
    assert.equal(choice.finish_reason, 'stop');
    assert.match(choice.text, new RegExp(`^${re}$`));
  }
  const choices = ['positive', 'negative', 'neutral'];
  const chat = await c.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: 'Sentiment?' }], max_tokens: 20, temperature: 1.0,
    seed: 4, n: 5, guided_choice: choices,
  });
  for (const choice of chat.choices) assert.ok(choices.includes(choice.message.content), choice.message.content);
  const grammar = await c.completions.create({
    model: MODEL, prompt: 'Sum:', max_tokens: 60, temperature: 1.0, seed: 5,
    structured_outputs: { grammar: 'root ::= num ("+" num){0,4}\nnum ::= [1-9][0-9]?\n' },
  });
  assert.match(grammar.choices[0].text, /^[1-9][0-9]?(\+[1-9][0-9]?){0,4}$/);
  const json = await c.completions.create({
    model: MODEL, prompt: 'Numbers:', max_tokens: 80, temperature: 1.0, seed: 6,
    guided_json: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 9 }, minItems: 2, maxItems: 4 },
  });
  const arr = JSON.parse(json.choices[0].text);
  assert.ok(arr.length >= 2 && arr.length <= 4 && arr.every((x) => Number.isInteger(x) && x >= 1 && x <= 9), json.choices[0].text);
});

test('tools with tool_choice "required": tool_calls whose arguments validate', async () => {
  const c = client();
  for (const seed of [1, 2, 3, 4]) {
    const r = await c.chat.completions.create({
      model: MODEL, messages: [{ role: 'user', content: 'Weather and time in Paris?' }], tools,
      tool_choice: 'required', temperature: 1.0, seed, max_tokens: 1000,
    });
    const choice = r.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    checkToolCalls(choice.message);
  }
  const single = await c.chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: 'One call only' }], tools, tool_choice: 'required',
    parallel_tool_calls: false, temperature: 1.0, seed: 9, max_tokens: 300,
  });
  assert.equal(single.choices[0].message.tool_calls.length, 1);
  checkToolCalls(single.choices[0].message);
});

test('tools with a named tool_choice call exactly that function', async () => {
  const r = await client().chat.completions.create({
    model: MODEL, messages: [{ role: 'user', content: 'Time?' }], tools,
    tool_choice: { type: 'function', function: { name: 'get_time' } }, temperature: 1.0, seed: 11, n: 4,
    max_tokens: 200,
  });
  for (const choice of r.choices) {
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.tool_calls.length, 1);
    assert.equal(choice.message.tool_calls[0].function.name, 'get_time');
    checkToolCalls(choice.message);
  }
});

test('streamed tool calls reassemble to the non-streamed result', async () => {
  const c = client();
  for (const tool_choice of ['required', { type: 'function', function: { name: 'get_weather' } }]) {
    const body = {
      model: MODEL, messages: [{ role: 'user', content: 'Call something' }], tools, tool_choice,
      temperature: 1.0, seed: 21, max_tokens: 300,
    };
    const whole = await c.chat.completions.create(body);
    const stream = c.chat.completions.stream({ ...body, stream: true });
    let fragments = 0;
    stream.on('chunk', (chunk) => { if (chunk.choices[0]?.delta?.tool_calls) fragments += 1; });
    const final = await stream.finalChatCompletion();
    assert.ok(fragments >= 1);
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    const strip = (calls) => calls.map((t) => ({ name: t.function.name, arguments: t.function.arguments }));
    assert.deepEqual(strip(final.choices[0].message.tool_calls), strip(whole.choices[0].message.tool_calls));
    checkToolCalls(final.choices[0].message);
  }
});

test('tool_choice auto parses the model\'s own <tool_call> format (streamed and not)', async () => {
  const c = client();
  // The regex stands in for a model trained on Hermes-style calls.
  const body = {
    model: MODEL, messages: [{ role: 'user', content: 'Weather?' }], tools, tool_choice: 'auto', seed: 5,
    temperature: 1.0, max_tokens: 120,
    guided_regex: 'Checking\\. <tool_call>\\{"name": "get_weather", "arguments": \\{"city": "[a-z]{1,8}", "unit": "celsius"\\}\\}</tool_call>',
  };
  const whole = await c.chat.completions.create(body);
  const m = whole.choices[0].message;
  assert.equal(whole.choices[0].finish_reason, 'tool_calls');
  assert.equal(m.content.trim(), 'Checking.');
  checkToolCalls(m);
  const stream = c.chat.completions.stream({ ...body, stream: true });
  let content = '';
  stream.on('content', (delta) => { content += delta; });
  const final = await stream.finalChatCompletion();
  assert.ok(!content.includes('<tool_call>'), content);
  assert.deepEqual(final.choices[0].message.tool_calls.map((t) => t.function), m.tool_calls.map((t) => t.function));
});

test('the SDK\'s parse helpers accept the responses', async () => {
  const c = client();
  const parsed = await c.chat.completions.parse({
    model: MODEL, messages: [{ role: 'user', content: 'Person' }], temperature: 1.0, seed: 31, max_tokens: 500,
    response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: personSchema } },
  });
  const message = parsed.choices[0].message;
  assert.deepEqual(message.parsed, JSON.parse(message.content));
  assert.ok(ajv.compile(personSchema)(message.parsed));
  const strictTools = tools.map((t) => ({ ...t, function: { ...t.function, strict: true } }));
  const withTools = await c.chat.completions.parse({
    model: MODEL, messages: [{ role: 'user', content: 'Weather' }], tools: strictTools, tool_choice: 'required',
    parallel_tool_calls: false, temperature: 1.0, seed: 32, max_tokens: 600,
  });
  for (const call of withTools.choices[0].message.tool_calls) {
    assert.ok(paramsValidator[call.function.name](call.function.parsed_arguments));
  }
});

test('a conversation with tool results renders and answers', async () => {
  const r = await client().chat.completions.create({
    model: MODEL,
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '21 degrees' },
    ],
    tools, max_tokens: 8,
  });
  assert.equal(r.choices[0].message.role, 'assistant');
});

test('invalid and unsupported constraints are 400s that say what is wrong', async () => {
  const c = client();
  const cases = [
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { not: { type: 'string' } } } } } } }, /not supported/, 'response_format.json_schema.schema'],
    [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'frob' } } } }, /unknown type 'frob'/, 'response_format.json_schema.schema'],
    [{ guided_regex: '(a' }, /missing '\)'/, 'guided_regex'],
    [{ guided_regex: '(a)\\1' }, /backreference/, 'guided_regex'],
    [{ guided_grammar: 'root ::= missing' }, /not defined/, 'guided_grammar'],
    [{ guided_json: { type: 'string', format: 'color' } }, /format 'color'/, 'guided_json'],
  ];
  for (const [extra, message, param] of cases) {
    await assert.rejects(
      c.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 5, ...extra }),
      (err) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.match(err.message, message);
        assert.equal(err.param, param);
        return true;
      },
    );
  }
  const raw = await rawPost('/v1/chat/completions', JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }], tool_choice: 'required' }));
  assert.equal(raw.status, 400);
  assert.equal(raw.json.error.param, 'tool_choice');
});
