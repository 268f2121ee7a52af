// JSON Schema (the subset structured output uses) and free JSON as grammar rules.
//
// Supported: type (one or a list; inferred from properties/items when absent), properties (in
// the schema's order) / required / additionalProperties (false, true or a schema), enum,
// const, items, prefixItems, minItems / maxItems, minLength / maxLength, pattern (a regex over
// the decoded string, unanchored unless it uses ^ / $), format (date-time, date, time, uuid,
// email, ipv4, hostname), integer bounds (minimum / maximum / exclusive*, exact), number bounds
// when they are non-negative integers, anyOf / oneOf (as alternatives), allOf with one schema,
// $ref into the document ("#", "#/$defs/...", "#/definitions/..."; recursion works), nullable.
// Annotations (title, description, default, examples, $schema, $id, $comment, ...) are ignored.
// Any other validation keyword (not, if/then/else, patternProperties, uniqueItems: true,
// multipleOf, minProperties, ...) is a kUnsupported error naming it and its location, never
// silently dropped; a malformed schema is kInvalidArgument.
//
// Output layout: between tokens at most one space (JsonSchemaOptions::indentation also allows a
// newline and up to 20 spaces/tabs, for models that pretty-print; without a bound a model can
// spend its whole budget on whitespace, vLLM's "any_whitespace" problem), numbers have at most
// 16 integer and 16 fraction digits, properties appear in the schema's order. When
// additionalProperties is absent no other property is allowed (OpenAI strict mode, xgrammar's
// strict default); the option below keeps the JSON Schema default instead.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "grammar/grammar.h"

namespace xy::grammar {

struct JsonSchemaOptions {
  // additionalProperties absent: false (strict) or any value (JSON Schema's default).
  bool strict_additional_properties = true;
  // Allow a newline plus indentation between tokens (pretty-printed JSON).
  bool indentation = false;
};

// Defines `root_name` (and helper rules) in `builder` for documents valid under `schema`.
Status json_schema_rules(const nlohmann::ordered_json& schema, const JsonSchemaOptions& options,
                         GrammarBuilder& builder, const std::string& root_name);

// Defines `root_name` as any JSON object (response_format json_object).
void json_object_rules(GrammarBuilder& builder, const std::string& root_name,
                       const JsonSchemaOptions& options = {});

}  // namespace xy::grammar
