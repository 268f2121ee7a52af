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
// Output layout: whitespace between tokens is optional and bounded (one space, or a newline and
// up to 20 spaces/tabs: the indentation a model may want), numbers have at most 16 integer and
// 16 fraction digits, properties appear in the schema's order. When additionalProperties is
// absent no other property is allowed (OpenAI strict mode, xgrammar's strict default); the
// option below keeps the JSON Schema default instead.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "grammar/grammar.h"

namespace xy::grammar {

struct JsonSchemaOptions {
  // additionalProperties absent: false (strict) or any value (JSON Schema's default).
  bool strict_additional_properties = true;
};

// Defines `root_name` (and helper rules) in `builder` for documents valid under `schema`.
Status json_schema_rules(const nlohmann::ordered_json& schema, const JsonSchemaOptions& options,
                         GrammarBuilder& builder, const std::string& root_name);

// Defines `root_name` as any JSON object (response_format json_object).
void json_object_rules(GrammarBuilder& builder, const std::string& root_name);

}  // namespace xy::grammar
